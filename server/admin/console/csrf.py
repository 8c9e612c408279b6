"""CSRF protection for everything a browser can reach with the admin's session cookie.

Litestar's ``CSRFMiddleware`` (a signed double-submit token: a cookie, and the same token in the
form field ``_csrf_token`` or the ``X-CSRFToken`` header) guards:

- every unsafe request to the console (``/admin/…`` outside ``/admin/api``), signed in or not: the
  sign-in form too, so no other site can sign a browser in as someone else;
- unsafe admin API calls (``/admin/api/…``) that ride on the session cookie.

Admin API calls with ``Authorization: Bearer`` are exempt: a browser never adds that header by itself,
so a forged cross-site request cannot carry one. API calls with neither a bearer token nor the session
cookie have no authority to abuse; the one that matters, JSON sign-in, insists on a JSON content type,
which a cross-site form cannot send. The mobile API, health and schema routes use no cookies and are
outside all this.
"""

from __future__ import annotations

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Receive, Scope, Send

from server.core.crypto import SecretBox
from server.http.admin_auth import SESSION_COOKIE
from server.settings import Settings

CSRF_COOKIE = "ledgersync_csrf"
CSRF_HEADER = "x-csrftoken"
CSRF_FIELD = "_csrf_token"  # fixed by Litestar


def csrf_config(settings: Settings, secrets: SecretBox) -> CSRFConfig:
    return CSRFConfig(
        secret=secrets.derive("csrf"),
        cookie_name=CSRF_COOKIE,
        cookie_path="/admin",
        header_name=CSRF_HEADER,
        # Pages hand the token to forms and scripts; nothing needs to read the cookie itself.
        cookie_httponly=True,
        cookie_secure=settings.base_url.startswith("https://"),
        cookie_samesite="lax",
    )


def needs_csrf_check(scope: Scope) -> bool:
    path: str = scope["path"]
    if path != "/admin" and not path.startswith("/admin/"):
        return False
    if not path.startswith("/admin/api/"):
        return True
    headers = Headers.from_scope(scope)
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return False
    names = (part.partition("=")[0].strip() for part in headers.get("cookie", "").split(";"))
    return SESSION_COOKIE in names


class AdminCsrfMiddleware(CSRFMiddleware):
    """Litestar's CSRF middleware, applied where ``needs_csrf_check`` says (see the module's doc)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and not needs_csrf_check(scope):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
