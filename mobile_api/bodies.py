"""Strict decoding of request bodies.

Litestar decodes bodies non-strictly (``"2"`` passes as an int). The mobile API decodes the raw
bytes again with msgspec's strict decoder so the contract in ``sync_protocol`` is what is
enforced, and a wrong type is a 400 that names the field.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request

from server.core.errors import InvalidInput
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import readable

T = TypeVar("T")


def decode_strict(body: bytes, type_: type[T]) -> T:
    try:
        return msgspec.json.decode(body, type=type_, strict=True)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `")
        message = readable(message)
        field = path.rstrip("`").removeprefix("$.").removeprefix("$") or None
        # Same shape as the framework's own validation errors: details.fields lists the problems.
        fields = [{"field": field or "", "message": message}]
        raise InvalidInput(
            f"{field}: {message}" if field else message, field=field, details={"fields": fields}
        ) from exc
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}", code=ErrorCode.MALFORMED_JSON) from exc


async def strict_body(request: Request[Any, Any, Any], type_: type[T]) -> T:
    return decode_strict(await request.body(), type_)
