"""The door every request body and parameter goes through before any handler or database sees it.

One ``before_request`` hook of the app (``guard_request``) does, for every route:

- **Parameters**: a path or query parameter holding a NUL character (PostgreSQL cannot store NUL in
  text; SQLite would store it silently) or an integer outside 64 bits (no engine's integer holds it) is
  refused, naming the parameter; routes bound their own integers more tightly.
- **JSON bodies** (routes whose ``data`` is JSON): a body that is not ``application/json`` (or
  ``…+json``) is 415 ``unsupported_media_type``; the body is decoded here once, and a failure of any
  kind (nesting too deep, not UTF-8, not JSON) is 400 ``malformed_json``; a value no field may hold
  is 400 ``invalid_input`` naming the field: a NUL character or a lone surrogate in a string or a key,
  a number past a double (``1e309``), an integer outside 64 bits. The decoded value is handed on to
  Litestar so the body is not parsed twice. A route that names its type in ``opt[STRICT_BODY]`` (the
  mobile API) has its body decoded here *strictly* into that type, once: Litestar's own validation of
  ``data`` then takes the value as it is, and the handler (``strict_body``) gets it.
- **Form bodies** (the console): a NUL character in a field is refused, naming it.

Bounds per field (lengths, formats, ranges) stay on the request types; this is what holds for all.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import BodyKwarg
from litestar.utils.scope.state import ScopeState

from server.core.errors import InvalidInput, UnsupportedMediaType
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import readable

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
MAX_OFFSET = 2**31 - 1  # paging offsets: far past any page a person reads, inside every engine's range

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_LONG_INTEGER = re.compile(rb"[0-9]{19}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_QUERY_INTEGER = re.compile(r"^[+-]?[0-9]{19,}$")
_FORM_NUL = re.compile(rb"%00|\x00")

# Route opt for handlers that read a JSON body themselves (``await request.body()``) without ``data``.
JSON_BODY = "json_body"
# Route opt: the type the JSON body is decoded into strictly (``"2"`` is not an int), here, once.
STRICT_BODY = "strict_body"
# Where a strict decoding's refusal waits for the handler (request state).
_STRICT_ERROR = "strict_body_error"

# Kept on the handler itself (its ``opt``): an id()-keyed cache went stale when a test process built
# many apps and a freed handler's id was reused by another app's (a form route judged as JSON: 415).
_BODY_KIND = "ledgersync_body_kind"


def _body_media_type(request: Request[Any, Any, Any]) -> str | None:
    """``json``, ``form`` or None (no body) for the route of ``request``; computed once per handler."""
    handler = request.route_handler
    if _BODY_KIND not in handler.opt:
        kind: str | None = "json" if handler.opt.get(JSON_BODY) or handler.opt.get(STRICT_BODY) else None
        field = handler.parsed_fn_signature.parameters.get("data")
        if field is not None:
            kind = "json"
            definition = field.kwarg_definition
            if isinstance(definition, BodyKwarg) and definition.media_type in (
                RequestEncodingType.URL_ENCODED,
                RequestEncodingType.MULTI_PART,
            ):
                kind = "form"
        handler.opt[_BODY_KIND] = kind
    found: str | None = handler.opt[_BODY_KIND]
    return found


async def guard_request(request: Request[Any, Any, Any]) -> None:
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise _nul(name)
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            raise _invalid(name, "integer outside the 64-bit range")
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise _nul(name.replace("\x00", ""))
        if _QUERY_INTEGER.match(value) and not INT64_MIN <= int(value) <= INT64_MAX:
            raise _invalid(name, "integer outside the 64-bit range")
    if request.method not in _BODY_METHODS:
        return
    kind = _body_media_type(request)
    if kind is None:
        return
    body = await request.body()
    if kind == "form":
        if _FORM_NUL.search(body):
            for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
                if "\x00" in name or "\x00" in value:
                    raise _nul(name.replace("\x00", ""))
        return
    if not body:
        return  # an optional body left out; a required one fails validation as usual
    content_type = request.content_type[0].lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"send the body as application/json (got {content_type or 'no Content-Type'})",
            details={"content_type": content_type},
        )
    strict: type[Any] | None = request.route_handler.opt.get(STRICT_BODY)
    if strict is None:
        ScopeState.from_scope(request.scope).json = decode_json_body(body)
        return
    try:
        value = msgspec.json.decode(body, type=strict, strict=True)
    except (msgspec.MsgspecError, RecursionError, UnicodeDecodeError) as exc:
        # Refused as before: first what no field may hold, then Litestar's own validation of
        # ``data`` (on the JSON as such), then the strict decoding's refusal, in the handler.
        ScopeState.from_scope(request.scope).json = decode_json_body(body)
        setattr(request.state, _STRICT_ERROR, strict_decode_error(exc))
        return
    if _NUL_ESCAPE.search(body) or _LONG_INTEGER.search(body):
        decode_json_body(body)  # a value no field may hold: refused, naming the field
    ScopeState.from_scope(request.scope).json = value


def strict_decode_error(exc: BaseException) -> InvalidInput:
    """A strict decoding's refusal as the 400 that names the field."""
    if not isinstance(exc, msgspec.ValidationError):
        return InvalidInput(f"request body is not valid JSON: {exc}", code=ErrorCode.MALFORMED_JSON)
    message, _, path = str(exc).partition(" - at `")
    message = readable(message)
    field = path.rstrip("`").removeprefix("$.").removeprefix("$") or None
    # Same shape as the framework's own validation errors: details.fields lists the problems.
    fields = [{"field": field or "", "message": message}]
    return InvalidInput(f"{field}: {message}" if field else message, field=field, details={"fields": fields})


def strict_body_error(request: Request[Any, Any, Any]) -> InvalidInput | None:
    """Why ``guard_request`` could not decode the body of a ``STRICT_BODY`` route strictly, if so."""
    error: InvalidInput | None = getattr(request.state, _STRICT_ERROR, None)
    return error


def decode_json_body(body: bytes) -> Any:
    """``body`` as JSON, or ``InvalidInput`` (``malformed_json``, or naming the field): nothing else."""
    try:
        value = msgspec.json.decode(body)
    except (msgspec.MsgspecError, RecursionError, UnicodeDecodeError) as exc:
        # msgspec refuses lone surrogates and numbers past a double without saying where: the
        # standard library parses both, so the field can be named.
        problem = _locate_with_stdlib(body)
        if problem is not None:
            raise problem from exc
        raise InvalidInput(
            f"request body is not valid JSON: {_reason(exc)}", code=ErrorCode.MALFORMED_JSON
        ) from exc
    if _NUL_ESCAPE.search(body) or _LONG_INTEGER.search(body):
        problem = _first_problem(value, "")
        if problem is not None:
            raise problem
    return value


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    return str(exc)


def _locate_with_stdlib(body: bytes) -> InvalidInput | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return _first_problem(value, "")


def _first_problem(value: Any, path: str) -> InvalidInput | None:
    """The first value no field may hold, as the error naming its path (``a.b[0].c``)."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            problem = _string_problem(item, at)
            if problem is not None:
                return problem
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                return _invalid(at, "integer outside the 64-bit range")
        elif isinstance(item, float):
            if not math.isfinite(item):
                return _invalid(at, "number out of range")
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                child_path = f"{at}.{key}" if at else str(key)
                problem = _string_problem(key, child_path)
                if problem is not None:
                    return problem
                stack.append((child, child_path))
        elif isinstance(item, list):
            stack.extend((child, f"{at}[{index}]") for index, child in reversed(list(enumerate(item))))
    return None


def _string_problem(text: str, at: str) -> InvalidInput | None:
    if "\x00" in text:
        return _nul(at.replace("\x00", ""))
    if _SURROGATE.search(text):
        return _invalid(at, "a lone surrogate is not a character")
    return None


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"{field}: {message}" if field else message,
        field=field or None,
        details={"fields": [{"field": field, "message": message}]},
    )


def _nul(field: str) -> InvalidInput:
    return _invalid(field, "NUL characters are not allowed")
