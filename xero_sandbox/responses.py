"""The one place where errors become Xero-shaped HTTP responses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import (
    BadRequest,
    Forbidden,
    InjectedFault,
    NotFound,
    OAuthError,
    RateLimited,
    SandboxError,
    ScopeRefused,
    Unauthorized,
    ValidationFailed,
)
from .store import new_id
from .wire import encode_json

JSON = "application/json; charset=utf-8"
# Litestar appends "; charset=utf-8" to text/* types itself (once).
TEXT = "text/plain"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    media_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=status, body=encode_json(body), headers=dict(headers or {}))


def _problem(status: int, title: str, detail: str, lowercase: bool = False) -> dict[str, Any]:
    # The API gateway's problem-details shape, as Xero sends it (Type is literally null); Xero's
    # documentation and reported answers also show it with lower-case keys and no Type/Extensions.
    if lowercase:
        return {"title": title, "status": status, "detail": detail, "instance": new_id()}
    return {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": new_id(),
        "Extensions": {},
    }


def error_reply(error: SandboxError, lowercase_problems: bool = False) -> Reply:
    if isinstance(error, ValidationFailed):
        return json_reply(
            400,
            {
                "ErrorNumber": 10,
                "Type": "ValidationException",
                "Message": "A validation exception occurred",
                "Elements": error.elements,
            },
        )
    if isinstance(error, BadRequest):
        return json_reply(
            400, {"ErrorNumber": error.number, "Type": error.error_type, "Message": error.message}
        )
    if isinstance(error, NotFound):
        return Reply(404, b"The resource you're looking for cannot be found", TEXT)
    if isinstance(error, Unauthorized):
        return json_reply(
            401,
            _problem(401, "Unauthorized", error.detail, lowercase_problems),
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if isinstance(error, ScopeRefused):
        return json_reply(401, _problem(401, "Unauthorized", "AuthorizationUnsuccessful", lowercase_problems))
    if isinstance(error, Forbidden):
        return json_reply(403, _problem(403, "Forbidden", error.detail, lowercase_problems))
    if isinstance(error, RateLimited):
        return Reply(
            429,
            b"Rate limit exceeded",
            TEXT,
            {"Retry-After": str(error.retry_after), "X-Rate-Limit-Problem": error.problem},
        )
    if isinstance(error, OAuthError):
        return json_reply(error.status, {"error": error.error})
    if isinstance(error, InjectedFault):
        if error.status == 503:
            return Reply(503, b"The service is temporarily unavailable", TEXT)
        return json_reply(
            error.status,
            {
                "ErrorNumber": 500,
                "Type": "UnknownErrorException",
                "Message": "An error occurred in Xero. Check the API Status page "
                "http://status.developer.xero.com for current service status.",
            },
        )
    return Reply(500, b"Internal Server Error", TEXT)
