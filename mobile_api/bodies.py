"""Strict decoding of request bodies.

Litestar decodes bodies non-strictly (``"2"`` passes as an int). The mobile API's routes name their
body's type in ``opt[STRICT_BODY]``: the input guard then decodes the raw bytes once, with msgspec's
strict decoder, so the contract in ``sync_protocol`` is what is enforced, and a wrong type is a 400
that names the field (``server/http/input_guard.py``).
"""

from __future__ import annotations

from typing import Any, TypeVar, get_origin

import msgspec
from litestar import Request

from server.http.input_guard import STRICT_BODY, strict_body_error, strict_decode_error

T = TypeVar("T")


def decode_strict(body: bytes, type_: type[T]) -> T:
    try:
        return msgspec.json.decode(body, type=type_, strict=True)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise strict_decode_error(exc) from exc


async def strict_body(request: Request[Any, Any, Any], type_: type[T]) -> T:
    """The body as ``type_``: decoded by the input guard on ``STRICT_BODY`` routes, here otherwise."""
    if request.route_handler.opt.get(STRICT_BODY) is type_:
        error = strict_body_error(request)
        if error is not None:
            raise error
        decoded = await request.json()  # what the guard decoded (nothing if the body is empty)
        if isinstance(decoded, get_origin(type_) or type_):  # ``Changes`` is a ``dict[…]``
            decoded_as: T = decoded
            return decoded_as
    return decode_strict(await request.body(), type_)
