"""Pulls that meet Xero's failures: 503s part-way, a revoked connection."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from server.db.database import Database
from server.db.mirror_models import MirrorRecord
from server.db.models import SyncRecord
from server.settings import Settings
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import connect, organisation_of, sync_and_wait
from xero_sandbox import FaultSpec

CONTACTS = "GET /api.xro/2.0/Contacts"


async def count_live(settings: Settings, entity: str) -> tuple[int, int]:
    """(feed rows with a payload, mirror rows) of one entity."""
    database = Database(settings.database_url)
    try:
        async with database.sessions() as session:
            feed = await session.scalar(
                select(func.count()).where(SyncRecord.entity == entity, SyncRecord.payload.is_not(None))
            )
            mirror = await session.scalar(select(func.count()).where(MirrorRecord.kind == entity))
            return int(feed or 0), int(mirror or 0)
    finally:
        await database.close()


async def test_pull_cut_short_by_503s_on_a_later_page_completes_next_time_without_loss_or_doubles(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, settings: Settings
) -> None:
    xero_sandbox.organisation(contacts=2500, items=1)
    await connect(admin_client)
    state = xero_sandbox.handle.state
    record_call = state.record_call

    def fail_from_second_page(route: str) -> None:
        record_call(route)
        if route == CONTACTS and state.calls[route] == 2:  # page 2 onwards answers 503
            xero_sandbox.handle.add_fault(FaultSpec(kind="status", route=CONTACTS, status=503))

    state.record_call = fail_from_second_page  # type: ignore[method-assign]
    try:
        cut_short = await sync_and_wait(admin_client, ["customers"])
    finally:
        state.record_call = record_call  # type: ignore[method-assign]
        xero_sandbox.handle.faults.clear()
    assert cut_short["status"] == "failed"
    assert cut_short["errors"][0]["data_type"] == "customers"
    assert await count_live(settings, "customer") == (1000, 1000)

    finished = await sync_and_wait(admin_client, ["customers"])

    assert finished["status"] == "succeeded"
    assert await count_live(settings, "customer") == (2500, 2500)
    assert cut_short["created"] + finished["created"] == 2500


async def test_a_few_503s_are_retried_within_the_same_pull(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient
) -> None:
    xero_sandbox.organisation(contacts=10, items=1)
    await connect(admin_client)
    xero_sandbox.handle.add_fault(FaultSpec(kind="status", route="GET /api.xro/2.0/*", status=503, count=2))

    run = await sync_and_wait(admin_client)

    assert run["status"] == "succeeded", run["errors"]
    assert run["xero_calls"] == 7 + 2


async def test_revoked_connection_shows_needs_reconnect_and_pauses_pulls(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient
) -> None:
    org = xero_sandbox.organisation(contacts=3, items=1)
    await connect(admin_client)
    xero_sandbox.control().post(f"/organisations/{org.tenant_id}/revoke", json={})

    run = await sync_and_wait(admin_client)

    assert run["status"] == "failed"
    assert "AuthenticationUnsuccessful" in run["errors"][0]["message"]
    connection = (await admin_client.get("/admin/api/xero/connection")).json()
    assert (connection["status"], connection["connected"]) == ("needs_reconnect", False)
    refused = await admin_client.post("/admin/api/sync")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "xero_needs_reconnect")


async def test_reconnecting_resumes_pulls_from_where_they_stopped(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, settings: Settings
) -> None:
    org = xero_sandbox.organisation(contacts=3, items=1)
    await connect(admin_client)
    await sync_and_wait(admin_client)
    xero_sandbox.control().post(f"/organisations/{org.tenant_id}/revoke", json={})
    await sync_and_wait(admin_client)
    contact = next(iter(org.contacts))
    xero_sandbox.control().post(
        f"/organisations/{org.tenant_id}/contacts/{contact}", json={"FirstName": "Aroha"}
    )

    reconnected = await connect(admin_client)
    run = await sync_and_wait(admin_client)

    assert reconnected.json()["status"] == "connected"
    assert (await admin_client.get("/admin/api/xero/connection")).json()["status"] == "connected"
    assert run["status"] == "succeeded"
    assert run["updated"] == 1
    assert await count_live(settings, "customer") == (3, 3)
    assert (await organisation_of(admin_client)) is not None


async def test_reconnecting_to_another_tenant_tombstones_the_old_tenants_records(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, settings: Settings
) -> None:
    first = xero_sandbox.organisation("First", contacts=4, items=1)
    await connect(admin_client)
    await sync_and_wait(admin_client, ["customers"])
    await admin_client.delete("/admin/api/xero/connection")
    xero_sandbox.handle.reset()
    xero_sandbox.handle.register_client(
        settings.xero_client_id, settings.xero_client_secret, (settings.xero_redirect_url,)
    )
    xero_sandbox.organisation("Second", contacts=2, items=1)

    await connect(admin_client)
    run = await sync_and_wait(admin_client, ["customers"])

    assert run["created"] == 2
    assert await count_live(settings, "customer") == (2, 2)
    assert first.tenant_id not in (await admin_client.get("/admin/api/xero/connection")).json()["tenant_id"]
