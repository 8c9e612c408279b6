"""Errors as types. ``app.py`` maps each to the response Xero would send, in one place."""

from __future__ import annotations

from typing import Any


class SandboxError(Exception):
    """Base of every error the sandbox turns into an HTTP response."""


class ValidationFailed(SandboxError):
    """Xero's `ValidationException` (ErrorNumber 10): one or more elements failed validation.

    ``elements`` are the offending elements as Xero echoes them, each with ``ValidationErrors``.
    """

    def __init__(self, elements: list[dict[str, Any]]) -> None:
        super().__init__("A validation exception occurred")
        self.elements = elements


class ElementInvalid(SandboxError):
    """One element is invalid; collected into ValidationFailed or a per-element result."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


class BadRequest(SandboxError):
    """A 400 that is not a validation exception (malformed body, idempotency misuse)."""

    def __init__(self, message: str, error_type: str = "ValidationException", number: int = 10) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.number = number


class PostDataInvalid(BadRequest):
    """Xero's answer to a body it cannot read: ErrorNumber 14, PostDataInvalidException."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"JSON for post data was invalid, {detail}", "PostDataInvalidException", 14)


class NotFound(SandboxError):
    """404: Xero answers with a plain-text body, `The resource you're looking for cannot be found`."""


class Unauthorized(SandboxError):
    """401 from the API gateway (missing, invalid or expired access token)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ScopeRefused(SandboxError):
    """401 ``AuthorizationUnsuccessful``: the token is valid but its scopes do not cover the call."""


class Forbidden(SandboxError):
    """403 from the API gateway: the tenant is not (or no longer) connected to this token."""

    def __init__(self, detail: str = "AuthenticationUnsuccessful") -> None:
        super().__init__(detail)
        self.detail = detail


class RateLimited(SandboxError):
    """429 with Retry-After and X-Rate-Limit-Problem."""

    def __init__(self, problem: str, retry_after: int) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after


class OAuthError(SandboxError):
    """An OAuth 2.0 error from the identity server: `{"error": "invalid_grant"}`."""

    def __init__(self, error: str, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


class InjectedFault(SandboxError):
    """A fault the control API asked for (HTTP 500/503 on the next N calls of a route)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"injected {status}")
        self.status = status
