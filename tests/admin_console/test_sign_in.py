"""Signing in to the console: sessions in an HttpOnly cookie, sign-out, and a lockout after repeated
failures (per email and client address) shared with the JSON API."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from server.db.admin_models import SignInFailure
from server.db.database import Database
from server.db.types import utcnow
from server.http.serving import ServerThread
from server.services.sign_in_throttle import LockoutPolicy
from tests.admin_console.conftest import Console
from tests.fixtures.servers import AdminAccount

FREE = LockoutPolicy().free_failures


async def test_signing_in_opens_the_console_with_an_http_only_session_cookie(
    console: Console, admin: AdminAccount
) -> None:
    response = await console.sign_in(admin.email, admin.password)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin"
    cookie = response.headers["set-cookie"].lower()
    assert "ledgersync_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    page = await console.open("/admin/connection")
    assert page.status_code == 200
    assert admin.email in page.text


async def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(
    console: Console, admin: AdminAccount
) -> None:
    asked = await console.http.get("/admin/devices")
    assert asked.headers["location"] == "/admin/sign-in?next=%2Fadmin%2Fdevices"
    await console.open(asked.headers["location"])
    back = await console.post(
        "/admin/sign-in", {"email": admin.email, "password": admin.password, "next": "/admin/devices"}
    )
    assert back.headers["location"] == "/admin/devices"
    await console.open("/admin/sign-in")
    elsewhere = await console.post(
        "/admin/sign-in", {"email": admin.email, "password": admin.password, "next": "//evil.example/admin/"}
    )
    assert elsewhere.headers["location"] == "/admin"


async def test_signing_out_ends_the_session(console: Console, admin: AdminAccount) -> None:
    await console.sign_in(admin.email, admin.password)
    await console.open("/admin/connection")
    token = console.http.cookies["ledgersync_session"]
    response = await console.post("/admin/sign-out")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/sign-in"
    # The old token is dead server-side, not merely forgotten by the browser.
    console.http.cookies.set("ledgersync_session", token)
    assert (await console.http.get("/admin/connection")).status_code == 303


async def test_a_wrong_password_shows_the_form_again_without_saying_which_part_was_wrong(
    console: Console, admin: AdminAccount
) -> None:
    response = await console.sign_in(admin.email, "not the password")
    assert response.status_code == 401
    assert "The email or the password is wrong." in response.text
    assert f'value="{admin.email}"' in response.text


async def test_repeated_failures_lock_the_email_out_from_that_address_even_with_the_right_password(
    console: Console, admin: AdminAccount, ledgersync: ServerThread
) -> None:
    for _ in range(FREE):
        assert (await console.sign_in(admin.email, "guess")).status_code == 401
    locked = await console.sign_in(admin.email, admin.password)
    assert locked.status_code == 429
    assert "too many failed sign-ins" in locked.text
    assert int(locked.headers["retry-after"]) >= 1
    # The JSON API shares the lockout.
    api = await console.http.post(
        "/admin/api/session", json={"email": admin.email, "password": admin.password}
    )
    assert api.status_code == 429
    assert api.json()["error"]["code"] == "sign_in_locked"
    # From another address the admin can still sign in: a guesser cannot lock them out of their desk.
    elsewhere = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=ledgersync.base_url, transport=elsewhere) as other:
        response = await other.post(
            "/admin/api/session", json={"email": admin.email, "password": admin.password}
        )
        assert response.status_code == 201


async def test_the_lockout_ends_and_a_success_clears_the_failures(
    console: Console, admin: AdminAccount, database: Database
) -> None:
    for _ in range(FREE):
        await console.sign_in(admin.email, "guess")
    async with database.transaction() as session:
        await session.execute(update(SignInFailure).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert (await console.sign_in(admin.email, admin.password)).status_code == 303
    async with database.sessions() as session:
        assert (await session.scalars(select(SignInFailure))).all() == []


async def test_unknown_emails_are_locked_out_alike(console: Console) -> None:
    for _ in range(FREE):
        assert (await console.sign_in("nobody@example.com", "guess")).status_code == 401
    assert (await console.sign_in("nobody@example.com", "guess")).status_code == 429


def test_each_failure_after_the_free_ones_doubles_the_lockout_up_to_the_longest() -> None:
    policy = LockoutPolicy(
        free_failures=5, first_lockout=timedelta(minutes=1), longest_lockout=timedelta(hours=1)
    )
    assert policy.lockout_after(4) is None
    assert policy.lockout_after(5) == timedelta(minutes=1)
    assert policy.lockout_after(6) == timedelta(minutes=2)
    assert policy.lockout_after(8) == timedelta(minutes=8)
    assert policy.lockout_after(50) == timedelta(hours=1)
