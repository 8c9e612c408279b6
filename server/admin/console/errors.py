"""How the console answers errors: to the sign-in page without a session, an HTML page otherwise.

Errors raised inside the console's routes meet its handlers (``EXCEPTION_HANDLERS``); an address no
route has (``/admin/no-such-page``), a method a route lacks and a bug reach the app's handlers, which
``app_exception_handlers`` makes answer a browser's request for a console page in HTML too. The admin
API (``/admin/api/…``) and any client that does not ask for HTML keep the JSON error envelope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from server.admin.console.rendering import wants_fragment
from server.core.errors import LedgersyncError, Unauthenticated
from server.http import errors as http_errors
from server.http.errors import status_of

SIGN_IN = "/admin/sign-in"


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


TITLES = {404: "Page not found", 405: "Not possible here", 500: "Something went wrong"}


def _error_page(request: Request[Any, Any, Any], status: int, message: str) -> Template:
    return Template(
        template_name="error.html",
        context={
            "title": TITLES.get(status, "Problem"),
            "message": message,
            "status": status,
            "nav": (),
            "admin": None,
        },
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
        message = "There is no such page in the console: the address may be mistyped or out of date."
    elif status == 405:
        message = "This page cannot do that. Go back and use the page's own buttons."
    elif status == 400:
        message = f"The request was not understood: {exc.detail}"
    else:
        message = exc.detail or "Something went wrong."
    return _error_page(request, status, message)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {LedgersyncError: service_error, HTTPException: http_error}


def wants_console_page(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a console page (not the admin API, not a JSON client)."""
    path = request.url.path
    if not (path == "/admin" or path.startswith("/admin/")) or path.startswith("/admin/api/"):
        return False
    return "text/html" in request.headers.get("accept", "") or wants_fragment(request)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    http_errors.unexpected_error(request, exc)  # logs it, as for any other route
    return _error_page(
        request, 500, "Something went wrong on the server; it has been logged. Try again in a moment."
    )


Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]


def app_exception_handlers() -> ExceptionHandlersMap:
    """The app's exception handlers: console pages in HTML to a browser, the JSON envelope otherwise."""

    def either(page: Handler, api: Handler) -> Handler:
        def handle(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
            return page(request, exc) if wants_console_page(request) else api(request, exc)

        return handle

    handlers = dict(http_errors.EXCEPTION_HANDLERS)
    handlers[HTTPException] = either(http_error, http_errors.http_error)
    handlers[Exception] = either(unexpected_error, http_errors.unexpected_error)
    return handlers
