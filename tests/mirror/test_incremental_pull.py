"""After the first pull, the next one publishes exactly what changed in Xero, with the fewest calls."""

from __future__ import annotations

import uuid

import httpx
import msgspec
from sqlalchemy import select

from server.db.database import Database
from server.db.models import SyncRecord
from server.settings import Settings
from sync_protocol import entities
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import connect, organisation_of, sync_and_wait


async def changes_after(settings: Settings, organisation_id: uuid.UUID, version: int) -> list[SyncRecord]:
    database = Database(settings.database_url)
    try:
        async with database.sessions() as session:
            rows = await session.scalars(
                select(SyncRecord).where(
                    SyncRecord.organisation_id == organisation_id, SyncRecord.version > version
                )
            )
            return list(rows)
    finally:
        await database.close()


async def latest_version(settings: Settings, organisation_id: uuid.UUID) -> int:
    return max((row.version for row in await changes_after(settings, organisation_id, 0)), default=0)


async def test_next_pull_publishes_exactly_the_four_xero_side_changes_with_minimum_calls(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, settings: Settings
) -> None:
    org = xero_sandbox.organisation(contacts=50, items=20)
    await connect(admin_client)
    assert (await sync_and_wait(admin_client))["status"] == "succeeded"
    organisation_id = await organisation_of(admin_client)
    before = await latest_version(settings, organisation_id)
    edited, archived = list(org.contacts)[:2]
    deleted_item = next(iter(org.items))
    control = xero_sandbox.control()
    control.post(
        f"/organisations/{org.tenant_id}/contacts/{edited}", json={"EmailAddress": "new@example.com"}
    )
    control.post(f"/organisations/{org.tenant_id}/contacts/{archived}/archive")
    control.delete(f"/organisations/{org.tenant_id}/items/{deleted_item}")
    control.post(f"/organisations/{org.tenant_id}/tax-rates/OUTPUT2", json={"Rate": "16"})
    control.delete("/calls")

    run = await sync_and_wait(admin_client)

    assert run["status"] == "succeeded", run["errors"]
    changes = await changes_after(settings, organisation_id, before)
    decoded = {
        (row.entity, msgspec.json.decode(row.payload)["xero_id"] if row.payload else None) for row in changes
    }
    assert len(changes) == 4
    assert ("customer", edited) in decoded
    assert ("tax_rate", "OUTPUT2") in decoded
    assert sorted(row.entity for row in changes if row.payload is None) == ["customer", "product"]
    edited_row = next(r for r in changes if r.payload and b"new@example.com" in r.payload)
    assert msgspec.json.decode(edited_row.payload, type=entities.Customer).email == "new@example.com"
    assert (run["updated"], run["deleted"], run["created"]) == (2, 2, 0)
    assert control.get("/calls").json() == {
        "GET /api.xro/2.0/TaxRates": 1,
        "GET /api.xro/2.0/Organisation": 1,
        "GET /api.xro/2.0/Contacts": 1,
        "GET /api.xro/2.0/Items": 1,
        "GET /api.xro/2.0/Accounts": 1,
        "GET /api.xro/2.0/TrackingCategories": 1,  # full reads: no If-Modified-Since
        "GET /api.xro/2.0/BrandingThemes": 1,
    }
    assert run["xero_calls"] == 7


async def test_a_pull_with_nothing_changed_in_xero_publishes_nothing(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, settings: Settings
) -> None:
    xero_sandbox.organisation(contacts=30, items=10)
    await connect(admin_client)
    await sync_and_wait(admin_client)
    organisation_id = await organisation_of(admin_client)
    before = await latest_version(settings, organisation_id)

    run = await sync_and_wait(admin_client)

    assert run["status"] == "succeeded"
    assert await changes_after(settings, organisation_id, before) == []
    assert (run["created"], run["updated"], run["deleted"]) == (0, 0, 0)


async def test_sync_now_for_one_data_type_calls_only_its_endpoint(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient
) -> None:
    xero_sandbox.organisation(contacts=5, items=5)
    await connect(admin_client)
    xero_sandbox.control().delete("/calls")

    run = await sync_and_wait(admin_client, ["customers"])

    assert run["types"] == ["customers"]
    assert xero_sandbox.control().get("/calls").json() == {"GET /api.xro/2.0/Contacts": 1}


async def test_sync_runs_are_listed_newest_first_and_paged(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient
) -> None:
    xero_sandbox.organisation(contacts=1, items=1)
    await connect(admin_client)
    first = await sync_and_wait(admin_client, ["accounts"])
    second = await sync_and_wait(admin_client, ["tax_rates"])

    # Pulls only: connecting is an event of the log too.
    page = (await admin_client.get("/admin/api/sync-runs", params={"limit": 1, "kind": "pull"})).json()

    assert page["total"] == 2
    assert [run["id"] for run in page["runs"]] == [second["id"]]
    older = (
        await admin_client.get("/admin/api/sync-runs", params={"limit": 1, "offset": 1, "kind": "pull"})
    ).json()
    assert [run["id"] for run in older["runs"]] == [first["id"]]
    assert second["trigger"] == "manual"


async def test_accounts_endpoint_lists_payment_and_revenue_accounts_from_the_mirror(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient
) -> None:
    org = xero_sandbox.organisation(contacts=1, items=1)
    await connect(admin_client)
    await sync_and_wait(admin_client, ["accounts"])

    bank = (await admin_client.get("/admin/api/accounts", params={"type": "BANK"})).json()
    revenue = (await admin_client.get("/admin/api/accounts", params={"type": "REVENUE"})).json()

    active = [a for a in org.accounts.values() if a["Status"] == "ACTIVE"]
    takes_payments = [a for a in active if a["Type"] == "BANK" or a["EnablePaymentsToAccount"]]
    assert sorted(a["code"] for a in bank) == sorted(a["Code"] for a in takes_payments)
    assert sorted(a["code"] for a in revenue) == sorted(a["Code"] for a in active if a["Class"] == "REVENUE")
