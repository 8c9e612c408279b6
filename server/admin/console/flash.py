"""One-shot messages carried across a redirect (post, redirect, get) in a short-lived cookie."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, unquote

from litestar import Request
from litestar.datastructures import Cookie

FLASH_COOKIE = "ledgersync_flash"
Kind = Literal["done", "problem"]


@dataclass(frozen=True)
class Flash:
    kind: Kind
    message: str


def flash_cookie(kind: Kind, message: str) -> Cookie:
    return Cookie(
        key=FLASH_COOKIE,
        value=quote(f"{kind}:{message}"),
        path="/admin",
        max_age=60,
        httponly=True,
        samesite="lax",
    )


def cleared_flash() -> Cookie:
    return Cookie(key=FLASH_COOKIE, value="", path="/admin", max_age=0, httponly=True, samesite="lax")


def read_flash(request: Request[Any, Any, Any]) -> Flash | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    kind, _, message = unquote(raw).partition(":")
    if kind not in ("done", "problem") or not message:
        return None
    return Flash("done" if kind == "done" else "problem", message)
