"""The console's tests run ledgersync against the Xero sandbox with its real consent page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from server.app import create_app
from server.db.database import Database
from server.http.serving import ServerThread
from server.services.admins import AdminService
from server.settings import Settings
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.servers import ADMIN, AdminAccount
from tests.fixtures.xero_connect import fast, free_port, point_at

CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture
def settings(settings: Settings, sandbox: RunningSandbox) -> Settings:
    # Forwarding polls and retries fast: tests wait for uploads to reach Xero.
    # And a pull as soon as Xero is connected, as in production.
    return point_at(settings, sandbox, free_port()).replace(
        forward_poll_seconds=0.05, forward_retry_seconds=0.2, pull_on_connect=True
    )


@pytest.fixture
def ledgersync(settings: Settings) -> Iterator[ServerThread]:
    with ServerThread(fast(create_app(settings)), port=settings.port) as server:
        yield server


@pytest.fixture
async def admin(settings: Settings) -> AdminAccount:
    """The admin of a fresh organisation (the server's database already migrated by its start)."""
    database = Database(settings.database_url)
    try:
        await AdminService(database).create_admin(ADMIN.email, ADMIN.password, ADMIN.organisation)
    finally:
        await database.close()
    return ADMIN


def csrf_token_in(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


class Console:
    """An HTTP client that uses the console as a browser would: cookies, form posts with CSRF tokens."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def open(self, path: str) -> httpx.Response:
        response = await self.http.get(path)
        if response.status_code == 200 and "_csrf_token" in response.text:
            self.csrf = csrf_token_in(response.text)
        return response

    async def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.post(path, data={**(data or {}), "_csrf_token": self.csrf})

    async def sign_in(self, email: str, password: str) -> httpx.Response:
        await self.open("/admin/sign-in")
        return await self.post("/admin/sign-in", {"email": email, "password": password})


@pytest.fixture
async def console(ledgersync: ServerThread) -> AsyncIterator[Console]:
    """Not signed in yet: ``await console.sign_in(admin.email, admin.password)``."""
    async with httpx.AsyncClient(base_url=ledgersync.base_url, timeout=30) as http:
        yield Console(http)


@pytest.fixture
async def signed_in(console: Console, admin: AdminAccount) -> Console:
    response = await console.sign_in(admin.email, admin.password)
    assert response.status_code == 303, response.text
    await console.open("/admin/connection")
    return console
