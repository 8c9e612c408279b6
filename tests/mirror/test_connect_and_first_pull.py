"""Connecting through Xero's redirect flow, then the first pull of a seeded organisation."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import msgspec
from sqlalchemy import select

from server.db.database import Database
from server.db.models import SyncRecord
from server.settings import Settings
from sync_protocol import entities
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import connect, organisation_of, sync_and_wait

_decoder = msgspec.json.Decoder(
    entities.TaxRate
    | entities.Customer
    | entities.Product
    | entities.Account
    | entities.BrandingTheme
    | entities.OrganisationSettings
)


async def feed_of(settings: Settings, organisation_id: uuid.UUID) -> dict[str, dict[str, bytes | None]]:
    database = Database(settings.database_url)
    try:
        async with database.sessions() as session:
            rows = await session.execute(
                select(SyncRecord.entity, SyncRecord.entity_id, SyncRecord.payload).where(
                    SyncRecord.organisation_id == organisation_id
                )
            )
            found: dict[str, dict[str, bytes | None]] = {}
            for entity, entity_id, payload in rows:
                found.setdefault(entity, {})[entity_id] = payload
            return found
    finally:
        await database.close()


async def test_connect_redirect_flow_binds_the_tenant_to_the_admins_organisation(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient
) -> None:
    org = xero_sandbox.organisation(contacts=1, items=1)

    response = await connect(admin_client)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "connected"
    assert response.json()["tenant"]["tenant_id"] == org.tenant_id
    connection = (await admin_client.get("/admin/api/xero/connection")).json()
    assert connection["status"] == "connected"
    assert connection["tenant_id"] == org.tenant_id


async def test_first_pull_mirrors_every_record_of_a_seeded_organisation_exactly(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, settings: Settings
) -> None:
    org = xero_sandbox.organisation(contacts=1000, items=200)
    await connect(admin_client)

    run = await sync_and_wait(admin_client)

    assert run["status"] == "succeeded", run["errors"]
    feed = await feed_of(settings, await organisation_of(admin_client))
    customers = [_decoder.decode(p) for p in feed["customer"].values() if p]
    assert sorted((c.xero_id, c.name, c.email) for c in customers) == sorted(
        (c["ContactID"], c["Name"], c["EmailAddress"]) for c in org.contacts.values()
    )
    products = [_decoder.decode(p) for p in feed["product"].values() if p]
    assert sorted((p.xero_id, p.code, p.unit_price) for p in products) == sorted(
        (i["ItemID"], i["Code"], i["SalesDetails"]["UnitPrice"]) for i in org.items.values()
    )
    rates = [_decoder.decode(p) for p in feed["tax_rate"].values() if p]
    assert sorted((r.tax_type, r.rate) for r in rates) == sorted(
        (t["TaxType"], Decimal(t["EffectiveRate"]))
        for t in org.tax_rates.values()
        if t["Status"] in ("ACTIVE", "PENDING")
    )
    accounts = [_decoder.decode(p) for p in feed["account"].values() if p]
    assert sorted(a.code for a in accounts) == sorted(
        a["Code"]
        for a in org.accounts.values()
        if a["Status"] == "ACTIVE"
        and (a["Type"] == "BANK" or a["EnablePaymentsToAccount"] or a["Class"] == "REVENUE")
    )
    themes = [_decoder.decode(p) for p in feed["branding_theme"].values() if p]
    assert [(t.name, t.sort_order) for t in themes if isinstance(t, entities.BrandingTheme)] == [
        ("Standard", 0)
    ]  # every organisation's default
    assert run["fetched"] == 1000 + 200 + len(org.tax_rates) + len(org.accounts) + len(themes)
    assert run["created"] == (
        len(customers) + len(products) + len(rates) + len(accounts) + len(themes) + 1  # + settings
    )


async def test_with_several_tenants_approved_the_admin_chooses_one(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient
) -> None:
    xero_sandbox.organisation("First Org")
    second = xero_sandbox.organisation("Second Org")
    offered = (await connect(admin_client)).json()
    assert offered["status"] == "choose_tenant"
    assert {t["tenant_id"] for t in offered["tenants"]} >= {second.tenant_id}

    chosen = await admin_client.post(
        "/admin/api/xero/tenant", json={"state": offered["state"], "tenant_id": second.tenant_id}
    )

    assert chosen.status_code == 200, chosen.text
    assert (await admin_client.get("/admin/api/xero/connection")).json()["tenant_id"] == second.tenant_id
    # The tenant left unchosen may be another organisation's: it stays connected at Xero.
    assert "DELETE /connections/{id}" not in xero_sandbox.control().get("/calls").json()


async def test_callback_with_an_unknown_state_is_refused(admin_client: httpx.AsyncClient) -> None:
    response = await admin_client.get("/admin/xero/callback", params={"code": "x", "state": "forged"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "oauth_state_invalid"


async def test_disconnect_revokes_at_xero_and_forgets_the_tokens(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient
) -> None:
    org = xero_sandbox.organisation(contacts=1, items=1)
    await connect(admin_client)

    response = await admin_client.delete("/admin/api/xero/connection")

    assert response.status_code == 204
    assert (await admin_client.get("/admin/api/xero/connection")).json()["status"] == "not_connected"
    assert not [c for c in xero_sandbox.handle.identity.connections.values() if c.tenant_id == org.tenant_id]
