"""The OAuth callback takes a ``state`` from anyone: a state it cannot use is a 4xx, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from server.app import create_app
from server.http.serving import ServerThread
from server.settings import Settings
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import connect, fast, free_port, point_at


@pytest.fixture
def settings(settings: Settings, xero_sandbox: RunningSandbox) -> Settings:
    return point_at(settings, xero_sandbox, free_port())


@pytest.fixture
def ledgersync(settings: Settings) -> Iterator[ServerThread]:
    with ServerThread(fast(create_app(settings)), port=settings.port) as server:
        yield server


async def test_a_tenant_choice_state_sent_to_the_callback_is_refused_and_the_choice_still_works(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    xero_sandbox.organisation("First Org")
    second = xero_sandbox.organisation("Second Org")
    offered = (await connect(admin_client)).json()
    assert offered["status"] == "choose_tenant"

    # Anyone (no session) replays the tenant-choice state against the callback.
    replayed = await client.get("/admin/xero/callback", params={"state": offered["state"], "code": "x"})

    assert replayed.status_code == 400, replayed.text
    assert replayed.json()["error"]["code"] == "oauth_state_invalid"
    chosen = await admin_client.post(
        "/admin/api/xero/tenant", json={"state": offered["state"], "tenant_id": second.tenant_id}
    )
    assert chosen.status_code == 200, chosen.text
