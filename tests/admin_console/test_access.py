"""Without a session, every admin page and admin API call is refused; forms need their CSRF token.

Routes are enumerated from the app itself, so a page or endpoint added later is covered too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
from litestar.routes import HTTPRoute

from server.app import create_app
from server.core.crypto import new_key_text
from server.settings import Settings
from tests.admin_console.conftest import Console
from tests.admin_console.test_browser_accessibility import CONSOLE_PAGES, NOT_PAGES
from tests.fixtures.servers import AdminAccount

# Reachable without a session on purpose: signing in, Xero's redirect back (its state is the proof),
# and the console's static files.
OPEN = {
    ("GET", "/admin/sign-in"),
    ("POST", "/admin/sign-in"),
    ("POST", "/admin/sign-out"),  # without a session it only sends the browser to the sign-in page
    ("POST", "/admin/api/session"),
    ("GET", "/admin/xero/callback"),
}
OPEN_PREFIXES = ("/admin/static/",)


def admin_routes() -> Iterator[tuple[str, str]]:
    app = create_app(Settings(secret_key=new_key_text(), database_url="sqlite:///:memory:"))
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not (
            route.path == "/admin" or route.path.startswith("/admin/")
        ):
            continue
        path = route.path
        for definition in route.path_parameters.values():
            value = {uuid.UUID: str(uuid.uuid4()), int: "1"}.get(definition.type, "x")
            path = path.replace("{" + definition.full + "}", value)
        for method in sorted(route.methods - {"OPTIONS", "HEAD"}):
            if (method, route.path) in OPEN or path.startswith(OPEN_PREFIXES):
                continue
            yield method, path


ROUTES = sorted(admin_routes())


def test_the_enumeration_sees_the_console_and_the_api() -> None:
    paths = {path for _, path in ROUTES}
    assert "/admin/api/sync" in paths
    assert "/admin/devices" in paths
    assert len(ROUTES) > 20


async def refusal_problem(console: Console, method: str, path: str) -> str | None:
    """None when the route refuses a caller without a session as it should; what it did otherwise."""
    if path.startswith("/admin/api/"):
        response = await console.http.request(method, path, json={})
        if response.status_code == 401 and response.json()["error"]["code"] == "session_required":
            return None
    else:
        if method == "GET":
            response = await console.http.get(path)
        else:
            response = await console.post(path, {"staff_name": "Mallory", "type": "all"})
        if response.status_code == 303 and response.headers["location"].startswith("/admin/sign-in?next="):
            return None
    return f"{method} {path}: {response.status_code} {response.text[:200]}"


async def test_without_a_session_every_admin_page_and_api_call_is_refused(console: Console) -> None:
    # A CSRF token the console would accept, so the refusal seen is the missing session's.
    await console.open("/admin/sign-in")
    problems = [
        problem for method, path in ROUTES if (problem := await refusal_problem(console, method, path))
    ]
    assert problems == []


async def test_an_expired_or_forged_session_cookie_is_refused_like_none(console: Console) -> None:
    console.http.cookies.set("ledgersync_session", "ls_sess_forged")
    response = await console.http.get("/admin/devices")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/sign-in")


async def test_sign_in_form_posted_without_its_csrf_token_is_refused(
    console: Console, admin: AdminAccount
) -> None:
    await console.open("/admin/sign-in")
    response = await console.http.post(
        "/admin/sign-in", data={"email": admin.email, "password": admin.password}
    )
    assert response.status_code == 403
    assert "did not come from this console" in response.text
    assert "ledgersync_session" not in response.headers.get("set-cookie", "")


async def test_signed_in_form_posted_without_or_with_a_wrong_csrf_token_is_refused(
    signed_in: Console,
) -> None:
    without = await signed_in.http.post("/admin/devices/pairing-codes", data={"staff_name": "Sam"})
    forged = await signed_in.http.post(
        "/admin/devices/pairing-codes", data={"staff_name": "Sam", "_csrf_token": "0" * 128}
    )
    assert (without.status_code, forged.status_code) == (403, 403)
    accepted = await signed_in.post("/admin/devices/pairing-codes", {"staff_name": "Sam"})
    assert accepted.status_code == 200
    assert 'id="pairing-code"' in accepted.text


async def test_cookie_authenticated_api_calls_need_the_csrf_header(signed_in: Console) -> None:
    http = signed_in.http
    refused = await http.post("/admin/api/devices/pairing-codes", json={"staff_name": "Sam"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    accepted = await http.post(
        "/admin/api/devices/pairing-codes",
        json={"staff_name": "Sam"},
        headers={"X-CSRFToken": signed_in.csrf},
    )
    assert accepted.status_code == 201
    # Reading needs no token.
    assert (await http.get("/admin/api/devices")).status_code == 200


async def test_bearer_authenticated_api_calls_need_no_csrf_token(admin_client: httpx.AsyncClient) -> None:
    response = await admin_client.post("/admin/api/devices/pairing-codes", json={"staff_name": "Sam"})
    assert response.status_code == 201


async def test_json_sign_in_takes_only_a_json_body(
    console: Console, admin: AdminAccount, ledgersync: object
) -> None:
    # A cross-site form can post text/plain that parses as JSON; it must not sign the browser in.
    response = await console.http.post(
        "/admin/api/session",
        content=f'{{"email": "{admin.email}", "password": "{admin.password}"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert "ledgersync_session" not in response.headers.get("set-cookie", "")


def test_the_accessibility_check_opens_every_page_route_of_the_console() -> None:
    """test_browser_accessibility.py checks every page of the console: a page added later is listed."""
    app = create_app(Settings(secret_key=new_key_text(), database_url="sqlite:///:memory:"))
    routes = {
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute)
        and "GET" in route.methods
        and (route.path == "/admin" or route.path.startswith("/admin/"))
        and not route.path.startswith("/admin/api")
    }
    # "(…)" names a page no route serves: the error pages.
    assert routes - NOT_PAGES == {route for route in CONSOLE_PAGES.values() if not route.startswith("(")}


# What axe reports and the test fails on: the two worst of its four impacts.
FAILING = ("serious", "critical")
