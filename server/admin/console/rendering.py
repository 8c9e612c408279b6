"""Rendering console pages: the layout's shared context, fragments for in-place updates, redirects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar import Request
from litestar.response import Redirect, Template

from server.admin.console.flash import Kind, cleared_flash, flash_cookie, read_flash

# The console's script asks for a fragment (the part of the page that changed) with this header.
FRAGMENT_HEADER = "x-console-fragment"


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    href: str


NAV = (
    NavItem("home", "Home", "/admin"),
    NavItem("connection", "Connection", "/admin/connection"),
    NavItem("settings", "Settings", "/admin/settings"),
    NavItem("sync", "Sync", "/admin/sync"),
    NavItem("sync_log", "Sync log", "/admin/sync-log"),
    NavItem("uploads", "Uploads", "/admin/uploads"),
    NavItem("conflicts", "Conflicts", "/admin/conflicts"),
    NavItem("devices", "Devices", "/admin/devices"),
)


def wants_fragment(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get(FRAGMENT_HEADER) == "1"


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    title: str,
    active: str = "",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """A full page in the layout; shows (and clears) a pending flash message."""
    flash = read_flash(request)
    admin = getattr(request.state, "admin", None)
    # Set before every signed-in page (home.load_connection): the reconnect banner's source.
    connection = getattr(request.state, "connection", None)
    return Template(
        template_name=template,
        context={
            "title": title,
            "active": active,
            "nav": NAV,
            "admin": admin,
            "flash": flash,
            "connection": connection,
            **context,
        },
        status_code=status_code,
        headers=headers,
        cookies=[cleared_flash()] if flash else [],
    )


def fragment(template: str, *, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=template, context=context, status_code=status_code)


def see_other(path: str, flash: tuple[Kind, str] | None = None) -> Redirect:
    """Where a form post ends: a GET of ``path`` (303), optionally with a message to show there."""
    return Redirect(path, status_code=303, cookies=[flash_cookie(*flash)] if flash else [])


def ago(moment: datetime, now: datetime | None = None) -> str:
    """How long ago, in words an office reads at a glance ("5 minutes ago"); the exact time is beside it."""
    seconds = ((now or datetime.now(UTC)) - moment.astimezone(UTC)).total_seconds()
    if seconds < 45:
        return "just now"
    for size, unit, limit in ((60, "minute", 90 * 60), (3600, "hour", 36 * 3600), (86400, "day", None)):
        if limit is None or seconds < limit:
            count = max(1, round(seconds / size))
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    raise AssertionError("unreachable")


def when(moment: datetime | None) -> str:
    """Times are shown in UTC, spelled out; the <time> element carries the exact instant."""
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%d %b %Y %H:%M:%S UTC")
