"""How the console answers errors: to the sign-in page without a session, an HTML page otherwise."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from server.admin.console.rendering import wants_fragment
from server.core.errors import LedgersyncError, Unauthenticated
from server.http.admin_auth import require_admin
from server.http.errors import status_of

SIGN_IN = "/admin/sign-in"


@get("/admin", include_in_schema=False, status_code=303, guards=[require_admin])
async def home() -> Redirect:
    return Redirect("/admin/connection", status_code=303)


def _sign_in_first(request: Request[Any, Any, Any]) -> Response[Any]:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or wants_fragment(request):
        target = request.headers.get("referer", "") or "/admin/connection"
        target = "/" + target.split("/", 3)[-1] if "://" in target else target
    location = f"{SIGN_IN}?next={quote(target, safe='')}"
    if wants_fragment(request):
        # The script follows this header to a full page load.
        return Response("", status_code=401, headers={"X-Console-Location": location})
    return Redirect(location, status_code=303)


def _error_page(request: Request[Any, Any, Any], status: int, message: str) -> Template:
    return Template(
        template_name="error.html",
        context={"title": "Problem", "message": message, "status": status, "nav": (), "admin": None},
        status_code=status,
    )


def service_error(request: Request[Any, Any, Any], exc: LedgersyncError) -> Response[Any]:
    if isinstance(exc, Unauthenticated):
        return _sign_in_first(request)
    return _error_page(request, status_of(exc), exc.message)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status == 403 and "csrf" in (exc.detail or "").lower():
        message = (
            "This form had expired or did not come from this console, so nothing was done. "
            "Go back, reload the page and try again."
        )
    elif status == 404:
        message = "There is no such page."
    elif status == 400:
        message = f"The request was not understood: {exc.detail}"
    else:
        message = exc.detail or "Something went wrong."
    return _error_page(request, status, message)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {LedgersyncError: service_error, HTTPException: http_error}
