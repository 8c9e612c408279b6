"""Makes the generated OpenAPI document the contract: every answer the server can give, described.

Litestar documents what handlers declare. What the layers around them answer it does not know: the
guards (401, the device rate limit's 429), the door (``server.http.input_guard``: 400, 415), the body limit
(413), the console's CSRF check on cookie sessions (403), path parameters that name nothing (404), and the
error envelope those all answer with (``server.http.errors``), not Litestar's own ``{status_code,
detail, extra}``. ``complete(openapi)`` adds them to every operation, once, after the app is built:

- every 4xx response has the error envelope as its body;
- 400 everywhere; 401 on every guarded operation; 403 on unsafe admin calls (cookie sessions need the
  CSRF header); 404 where a path names a record; 413 and 415 where a body is taken; 429 where a limiter
  runs (device requests, pairing, sign-in);
- the mobile protocol header is a documented, required parameter;
- security schemes: the admin's bearer session or session cookie, the device's bearer token;
- 204 and 304 answers have no body;
- the records a pull sends and the error codes (``server.http.openapi_records``).
"""

from __future__ import annotations

from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)

from server.http.admin_auth import SESSION_COOKIE
from server.http.openapi_records import describe_records
from sync_protocol.version import MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, PROTOCOL_HEADER

ADMIN_BEARER = "adminSession"
ADMIN_COOKIE = "adminSessionCookie"
DEVICE_BEARER = "deviceToken"

_ENVELOPE = Reference(ref="#/components/schemas/ErrorEnvelope")
_UNSAFE = frozenset({"post", "put", "patch", "delete"})
_UNGUARDED = frozenset({("post", "/admin/api/session"), ("post", "/mobile/v1/pair")})
_RATE_LIMITED_ADMIN = frozenset({("post", "/admin/api/session")})
# Answered with an empty body whatever the status, as their caller requires (Xero's webhooks).
_EMPTY_ANSWERS = frozenset({("post", "/xero/webhooks")})
# Answered 200 with a Server-Sent Events stream too (besides the JSON their handler declares).
_EVENT_STREAMS = frozenset({("get", "/mobile/v1/pokes")})

_LITESTAR_400 = "Bad request syntax or unsupported method"
_DESCRIPTIONS: dict[str, str] = {
    "400": "Bad input (`invalid_input` naming the field in `details`, `malformed_json`, ...)",
    "401": "No or unknown credentials",
    "403": "A cookie session without the CSRF header (`X-CSRFToken`)",
    "404": "No such record in this organisation",
    "409": "Conflicts with the current state",
    "413": "The body is larger than the server accepts (`body_too_large`)",
    "415": "The body is not `application/json` (`unsupported_media_type`)",
    "429": "Too many requests (`rate_limited`); retry after `Retry-After` seconds",
    "503": "The database cannot serve now, e.g. out of connections (`unavailable`); retry after "
    "`Retry-After` seconds",
}


def _error(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description, content={"application/json": OpenAPIMediaType(schema=_ENVELOPE)}
    )


def _operations(openapi: OpenAPI) -> list[tuple[str, str, Operation]]:
    found = []
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if operation is not None:
                found.append((path, method, operation))
    return found


def _statuses(path: str, method: str, operation: Operation) -> set[str]:
    """The error statuses this operation can answer, besides those its handler declares."""
    admin = path.startswith("/admin/api/")
    mobile = path.startswith("/mobile/v1/")
    if not (admin or mobile or path.startswith("/admin/xero/")):
        return set()
    statuses = {"400", "503"}
    guarded = (admin or mobile) and (method, path) not in _UNGUARDED
    if guarded:
        statuses.add("401")
    if admin and method in _UNSAFE:
        statuses.add("403")
    if "{" in path:
        statuses.add("404")
    if operation.request_body is not None:
        statuses |= {"413", "415"}
    if mobile or (method, path) in _RATE_LIMITED_ADMIN:
        statuses.add("429")
    return statuses


def _security(path: str, method: str) -> list[SecurityRequirement] | None:
    if (method, path) in _UNGUARDED:
        return None
    if path.startswith("/admin/api/"):
        return [{ADMIN_BEARER: []}, {ADMIN_COOKIE: []}]
    if path.startswith("/mobile/v1/"):
        return [{DEVICE_BEARER: []}]
    return None


def _empty_answers(operation: Operation) -> None:
    """A webhook: a JSON delivery in, nothing but a status out."""
    for response in (operation.responses or {}).values():
        if isinstance(response, OpenAPIResponse):
            response.content = None
    operation.request_body = RequestBody(
        required=True,
        description="A Xero webhook delivery: `events`, `firstEventSequence`, `lastEventSequence`.",
        content={"application/json": OpenAPIMediaType(schema=Schema(type=OpenAPIType.OBJECT))},
    )
    operation.parameters = [
        *(operation.parameters or []),
        Parameter(
            name="x-xero-signature",
            param_in="header",
            required=False,
            description="base64 HMAC-SHA256 of the raw body with the Xero app's webhook key.",
            schema=Schema(type=OpenAPIType.STRING),
        ),
    ]


def _protocol_header() -> Parameter:
    versions = [str(v) for v in range(MIN_PROTOCOL_VERSION, MAX_PROTOCOL_VERSION + 1)]
    return Parameter(
        name=PROTOCOL_HEADER,
        param_in="header",
        required=True,
        description="The protocol version this client speaks (docs/protocol.md).",
        schema=Schema(type=OpenAPIType.STRING, enum=list(versions)),
    )


def complete(openapi: OpenAPI) -> OpenAPI:
    """``openapi`` with every answer described (changed in place, and returned)."""
    components = openapi.components if isinstance(openapi.components, Components) else Components()
    openapi.components = components
    components.security_schemes = {
        **(components.security_schemes or {}),
        ADMIN_BEARER: SecurityScheme(
            type="http",
            scheme="bearer",
            description="An admin session token from `POST /admin/api/session` (`token`).",
        ),
        ADMIN_COOKIE: SecurityScheme(
            type="apiKey",
            name=SESSION_COOKIE,
            security_scheme_in="cookie",
            description="The browser's session cookie; unsafe requests also need the CSRF header.",
        ),
        DEVICE_BEARER: SecurityScheme(
            type="http",
            scheme="bearer",
            description="A paired device's token from `POST /mobile/v1/pair` (`token`).",
        ),
    }
    for path, method, operation in _operations(openapi):
        responses = operation.responses if operation.responses is not None else {}
        operation.responses = responses
        if (method, path) in _EMPTY_ANSWERS:
            _empty_answers(operation)
            continue
        declared = {s for s in responses if s.startswith(("4", "5"))}
        for status in _statuses(path, method, operation) | declared:
            existing = responses.get(status)
            description = _DESCRIPTIONS.get(status, "Error")
            if isinstance(existing, OpenAPIResponse) and existing.description not in ("", _LITESTAR_400):
                description = existing.description
            responses[status] = _error(description)
        for status in ("204", "304"):
            existing = responses.get(status)
            if isinstance(existing, OpenAPIResponse):
                existing.content = None
        ok = responses.get("200")
        if (method, path) in _EVENT_STREAMS and isinstance(ok, OpenAPIResponse):
            ok.content = {
                **(ok.content or {}),
                "text/event-stream": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.STRING,
                        description='`event: poke`, `id: <version>`, `data: {"version": <version>}`, '
                        "and `: heartbeat` comment lines",
                    )
                ),
            }
        security = _security(path, method)
        if security is not None:
            operation.security = security
        if path.startswith("/mobile/v1/"):
            parameters = [
                p
                for p in (operation.parameters or [])
                if not (isinstance(p, Parameter) and p.name == PROTOCOL_HEADER)
            ]
            operation.parameters = [_protocol_header(), *parameters]
    describe_records(openapi)  # the records a pull sends, the error codes' enum
    return openapi
