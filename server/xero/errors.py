"""Failures at the Xero boundary, one family, so callers can tell what to do next.

    XeroError                   anything that went wrong talking to Xero
    ├── TransportError          no usable answer: connect failure, timeout, dropped connection
    ├── RateLimited             429 (or our own limiter's daily budget): wait ``retry_after`` seconds
    ├── AuthError               401/403 or an OAuth error
    │   └── NeedsReconnect      the grant is gone (invalid_grant, AuthenticationUnsuccessful):
    │                           only an admin reconnecting helps; pulls/forwards pause
    ├── ValidationError         400 ValidationException: ``elements`` carry Xero's messages per element
    ├── NotFound                404 on a single resource
    └── ServerError             5xx after the retries (Xero's own message kept)

None of them ever carries a token in its message.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class XeroError(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class TransportError(XeroError):
    pass


class RateLimited(XeroError):
    def __init__(self, message: str, *, retry_after: float, problem: str = "") -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after
        self.problem = problem


class AuthError(XeroError):
    pass


class NeedsReconnect(AuthError):
    pass


@dataclass(frozen=True)
class ElementError:
    """One element Xero refused: its index in the request, the id if it had one, Xero's messages."""

    index: int
    messages: list[str]
    reference: str | None = None
    element: dict[str, object] = field(default_factory=dict)


class ValidationError(XeroError):
    def __init__(self, message: str, *, elements: list[ElementError], status: int = 400) -> None:
        super().__init__(message, status=status)
        self.elements = elements

    @property
    def messages(self) -> list[str]:
        return [m for element in self.elements for m in element.messages] or [self.message]


class NotFound(XeroError):
    pass


class ServerError(XeroError):
    pass
