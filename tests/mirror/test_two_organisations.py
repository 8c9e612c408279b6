"""Two ledgersync organisations and one Xero user (an accountant running both), even one tenant.

The sandbox has one Xero user who approves every consent, as such a person would: each
organisation's admin connects with their own consent, choosing which tenants to approve.
Nothing one organisation does with Xero - connecting, choosing a tenant, mirroring, forwarding,
disconnecting - may show, change or break the other's.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from reference_client import Phone
from server.db.database import Database
from server.db.models import SyncRecord
from server.http.serving import ServerThread
from server.services.admins import AdminService
from server.settings import Settings
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.servers import AdminAccount
from tests.fixtures.xero_connect import organisation_of, sync_and_wait, wait_for_run

SECOND = AdminAccount("books@example.com", "another correct horse", "Bravo Electrical")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(forward_poll_seconds=0.05, forward_retry_seconds=0.2)


@pytest.fixture
async def second_admin(ledgersync: ServerThread, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The admin of a second organisation on the same server."""
    database = Database(settings.database_url)
    try:
        await AdminService(database).create_admin(SECOND.email, SECOND.password, SECOND.organisation)
    finally:
        await database.close()
    async with httpx.AsyncClient(base_url=ledgersync.base_url, timeout=30) as http:
        response = await http.post(
            "/admin/api/session", json={"email": SECOND.email, "password": SECOND.password}
        )
        response.raise_for_status()
        http.headers["Authorization"] = f"Bearer {response.json()['token']}"
        yield http


async def connect_approving(admin: httpx.AsyncClient, tenant_ids: list[str]) -> httpx.Response:
    """The admin's connect flow, where the Xero user approves exactly ``tenant_ids`` on the consent page."""
    start = await admin.get("/admin/api/xero/connect")
    assert start.status_code == 302, start.text
    authorize = f"{start.headers['location']}&sandbox_tenant_ids={','.join(tenant_ids)}"
    return await admin.get(authorize, follow_redirects=True)


async def connected_tenant(admin: httpx.AsyncClient) -> tuple[str, str]:
    body = (await admin.get("/admin/api/xero/connection")).json()
    return body["status"], body.get("tenant_id") or ""


def xero_connections(sandbox: RunningSandbox) -> set[str]:
    """The tenants the Xero user has connected to ledgersync's app, as Xero keeps them."""
    return {c.tenant_id for c in sandbox.handle.identity.connections.values()}


async def customers_in_feed(settings: Settings, organisation_id: uuid.UUID) -> dict[str, bytes]:
    database = Database(settings.database_url)
    try:
        async with database.sessions() as session:
            rows = await session.execute(
                select(SyncRecord.entity_id, SyncRecord.payload).where(
                    SyncRecord.organisation_id == organisation_id,
                    SyncRecord.entity == "customer",
                    SyncRecord.payload.is_not(None),
                )
            )
            return {entity_id: bytes(payload) for entity_id, payload in rows}
    finally:
        await database.close()


async def test_a_tenant_another_organisation_mirrored_and_left_mirrors_for_the_next_one(
    xero_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    second_admin: httpx.AsyncClient,
    settings: Settings,
) -> None:
    tenant = xero_sandbox.organisation("Shared Books", contacts=30, items=5)
    assert (await connect_approving(admin_client, [tenant.tenant_id])).json()["status"] == "connected"
    assert (await sync_and_wait(admin_client))["status"] == "succeeded"
    assert (await admin_client.delete("/admin/api/xero/connection")).status_code == 204

    connected = await connect_approving(second_admin, [tenant.tenant_id])
    run = await sync_and_wait(second_admin)

    assert connected.json()["status"] == "connected", connected.text
    assert (run["status"], run["errors"]) == ("succeeded", [])
    first = await customers_in_feed(settings, await organisation_of(admin_client))
    second = await customers_in_feed(settings, await organisation_of(second_admin))
    assert len(first) == len(second) == 30
    assert not first.keys() & second.keys()


async def test_two_organisations_mirror_one_tenant_at_once_each_with_ids_of_its_own(
    xero_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    second_admin: httpx.AsyncClient,
    settings: Settings,
) -> None:
    tenant = xero_sandbox.organisation("Shared Books", contacts=1200, items=5)
    assert (await connect_approving(admin_client, [tenant.tenant_id])).json()["status"] == "connected"
    second_connect = await connect_approving(second_admin, [tenant.tenant_id])
    assert second_connect.json()["status"] == "connected", second_connect.text

    started = [await admin.post("/admin/api/sync") for admin in (admin_client, second_admin)]
    runs = await asyncio.gather(
        wait_for_run(admin_client, started[0].json()["run_id"]),
        wait_for_run(second_admin, started[1].json()["run_id"]),
    )

    assert [(run["status"], run["errors"]) for run in runs] == [("succeeded", [])] * 2
    first = await customers_in_feed(settings, await organisation_of(admin_client))
    second = await customers_in_feed(settings, await organisation_of(second_admin))
    assert len(first) == len(second) == 1200
    assert not first.keys() & second.keys()
    contact = next(iter(tenant.contacts))
    xero_sandbox.control().post(
        f"/organisations/{tenant.tenant_id}/contacts/{contact}", json={"FirstName": "Aroha"}
    )
    again = [await sync_and_wait(admin, ["customers"]) for admin in (admin_client, second_admin)]
    assert [run["updated"] for run in again] == [1, 1]


async def test_connecting_a_second_organisation_offers_only_the_tenants_its_consent_approved(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, second_admin: httpx.AsyncClient
) -> None:
    first = xero_sandbox.organisation("Alpha Plumbing", contacts=3, items=1)
    second = xero_sandbox.organisation("Bravo Electrical", contacts=3, items=1)
    await connect_approving(admin_client, [first.tenant_id])

    answer = (await connect_approving(second_admin, [second.tenant_id])).json()

    assert answer["status"] == "connected", answer
    assert answer["tenant"]["tenant_id"] == second.tenant_id
    assert first.tenant_id not in str(answer)
    assert first.name not in str(answer)
    assert await connected_tenant(admin_client) == ("connected", first.tenant_id)
    assert (await sync_and_wait(admin_client))["status"] == "succeeded"
    assert xero_connections(xero_sandbox) == {first.tenant_id, second.tenant_id}


async def test_choosing_among_the_tenants_one_consent_approved_leaves_other_organisations_connected(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, second_admin: httpx.AsyncClient
) -> None:
    first = xero_sandbox.organisation("Alpha Plumbing", contacts=3, items=1)
    second = xero_sandbox.organisation("Bravo Electrical", contacts=3, items=1)
    third = xero_sandbox.organisation("Charlie Roofing", contacts=3, items=1)
    await connect_approving(admin_client, [first.tenant_id])

    offered = (await connect_approving(second_admin, [second.tenant_id, third.tenant_id])).json()
    chosen = await second_admin.post(
        "/admin/api/xero/tenant", json={"state": offered["state"], "tenant_id": third.tenant_id}
    )

    assert offered["status"] == "choose_tenant"
    assert sorted(t["tenant_id"] for t in offered["tenants"]) == sorted([second.tenant_id, third.tenant_id])
    assert chosen.status_code == 200, chosen.text
    assert await connected_tenant(second_admin) == ("connected", third.tenant_id)
    assert await connected_tenant(admin_client) == ("connected", first.tenant_id)
    assert (await sync_and_wait(admin_client))["status"] == "succeeded"
    assert xero_connections(xero_sandbox) == {first.tenant_id, second.tenant_id, third.tenant_id}


async def test_disconnecting_one_organisation_keeps_the_other_syncing_with_the_tenant_they_share(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, second_admin: httpx.AsyncClient
) -> None:
    tenant = xero_sandbox.organisation("Shared Books", contacts=3, items=1)
    await connect_approving(admin_client, [tenant.tenant_id])
    assert (await connect_approving(second_admin, [tenant.tenant_id])).json()["status"] == "connected"

    assert (await second_admin.delete("/admin/api/xero/connection")).status_code == 204

    assert (await connected_tenant(second_admin))[0] == "not_connected"
    assert await connected_tenant(admin_client) == ("connected", tenant.tenant_id)
    assert (await sync_and_wait(admin_client))["status"] == "succeeded"
    assert xero_connections(xero_sandbox) == {tenant.tenant_id}


async def test_disconnecting_one_organisation_removes_only_its_own_tenant_at_xero(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, second_admin: httpx.AsyncClient
) -> None:
    first = xero_sandbox.organisation("Alpha Plumbing", contacts=3, items=1)
    second = xero_sandbox.organisation("Bravo Electrical", contacts=3, items=1)
    await connect_approving(admin_client, [first.tenant_id])
    await connect_approving(second_admin, [second.tenant_id])

    assert (await second_admin.delete("/admin/api/xero/connection")).status_code == 204

    assert xero_connections(xero_sandbox) == {first.tenant_id}
    run = await sync_and_wait(admin_client)
    assert (run["status"], run["errors"]) == ("succeeded", [])


async def pair_phone(admin: httpx.AsyncClient, ledgersync: ServerThread) -> Phone:
    issued = await admin.post("/admin/api/devices/pairing-codes", json={"staff_name": "Sam Field"})
    phone = Phone(ledgersync.base_url)
    await phone.pair(issued.json()["code"])
    await phone.refresh()
    return phone


async def done_uploads(admin: httpx.AsyncClient, count: int) -> dict[str, int]:
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        counts: dict[str, int] = (await admin.get("/admin/api/uploads", params={"limit": 1})).json()["counts"]
        if counts["done"] >= count or asyncio.get_running_loop().time() > deadline:
            return counts
        await asyncio.sleep(0.1)


async def test_phones_of_two_organisations_choosing_the_same_ids_never_collide(
    xero_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    second_admin: httpx.AsyncClient,
    ledgersync: ServerThread,
) -> None:
    tenants = [xero_sandbox.organisation(name, contacts=3, items=1) for name in ("Alpha", "Bravo")]
    await connect_approving(admin_client, [tenants[0].tenant_id])
    await connect_approving(second_admin, [tenants[1].tenant_id])
    for admin in (admin_client, second_admin):
        assert (await sync_and_wait(admin))["status"] == "succeeded"
    shared_id = str(uuid.uuid4())
    phones = [await pair_phone(admin, ledgersync) for admin in (admin_client, second_admin)]
    try:
        for phone, name in zip(phones, ("Alpha's Customer", "Bravo's Customer"), strict=True):
            phone.create_customer(name, customer_id=shared_id)
            assert {r.status for r in await phone.upload()} == {"applied"}

        counts = [await done_uploads(admin, 1) for admin in (admin_client, second_admin)]
        for admin in (admin_client, second_admin):
            assert (await sync_and_wait(admin, ["customers"]))["status"] == "succeeded"
        for phone in phones:
            await phone.refresh()

        assert [(c["done"], c["failed"], c["retrying"]) for c in counts] == [(1, 0, 0)] * 2
        names = [c["Name"] for tenant in tenants for c in tenant.contacts.values() if "Customer" in c["Name"]]
        assert names == ["Alpha's Customer", "Bravo's Customer"]
        held = [json.loads(phone.store.record("customer", shared_id) or b"null") for phone in phones]
        assert [record["name"] for record in held] == names
        assert all(record["xero_id"] for record in held)
    finally:
        for phone in phones:
            await phone.close()
