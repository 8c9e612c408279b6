"""A payment the office records in Xero on an app's invoice arrives in the app's ``payments`` table;
removed in Xero, the row is deleted. The real WatermelonDB package (tests/watermelondb/node/driver.js),
the real server over HTTP, the Xero sandbox, the forwarding worker as a process of its own.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from server.http.serving import ServerThread
from server.settings import Settings
from tests.convergence.devices import LineSpec, NodeDriver, WatermelonDevice
from tests.convergence.test_convergence import ledgersync as ledgersync
from tests.convergence.test_convergence import node_driver as node_driver
from tests.convergence.test_convergence import settings as settings
from tests.convergence.test_convergence import worker as worker
from tests.convergence.world import Servers, Worker, World
from tests.fixtures.sandbox import RunningSandbox


@pytest.fixture
async def servers(
    ledgersync: ServerThread,
    settings: Settings,
    xero_sandbox: RunningSandbox,
    node_driver: NodeDriver,
    worker: Worker,
) -> Servers:
    return Servers(ledgersync.base_url, settings, xero_sandbox, worker, node_driver)


@pytest.fixture
async def world(servers: Servers) -> AsyncIterator[World]:
    created = await World.create(random.randrange(10_000, 99_999), servers, native=0, watermelon=1)
    try:
        yield created
    finally:
        await created.close()


async def tables_of(app: WatermelonDevice) -> dict[str, dict[str, dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = (await app.rows())["tables"]
    return {name: {row["id"]: row for row in rows} for name, rows in tables.items()}


async def test_a_payment_made_in_xero_arrives_in_the_apps_payments_table_and_leaves_when_removed(
    world: World,
) -> None:
    device = world.devices[0]
    assert isinstance(device, WatermelonDevice)
    app = device
    customer, invoice = str(uuid.uuid4()), str(uuid.uuid4())
    await app.create_customer(customer, {"name": "Paid In The Office Ltd"})
    await app.create_invoice(invoice, customer, "paid in xero", [LineSpec("2", "50.00", "Visit")])
    assert (await app.sync())["rejected"] == {}
    await world.drain(within=30)
    await world.mirror_pull()
    await app.sync()
    [xero_invoice] = [i for i in world.xero_invoices().values() if i.get("Reference") == "paid in xero"]

    paid = world.control.post(
        f"/organisations/{world.tenant_id}/invoices/{xero_invoice['InvoiceID']}/payments",
        json={"amount": "30.00"},
    )
    assert paid.status_code == 201, paid.text
    await world.mirror_pull()
    await app.sync()

    tables = await tables_of(app)
    [row] = [p for p in tables["payments"].values() if p["invoice_id"] == invoice]
    assert str(row["xero_id"]).lower() == paid.json()["PaymentID"].lower()
    assert (Decimal(row["amount"]), row["status"], row["_status"]) == (
        Decimal("30.00"),
        "AUTHORISED",
        "synced",
    )
    total = Decimal(tables["invoices"][invoice]["total"])
    assert Decimal(tables["invoices"][invoice]["amount_paid"]) == Decimal("30.00")
    assert Decimal(tables["invoices"][invoice]["amount_due"]) == total - Decimal("30.00")

    removed = world.control.post(
        f"/organisations/{world.tenant_id}/payments/{paid.json()['PaymentID']}/delete"
    )
    assert removed.status_code == 200, removed.text
    await world.mirror_pull()
    await app.sync()

    tables = await tables_of(app)
    assert row["id"] not in tables["payments"]
    assert Decimal(tables["invoices"][invoice]["amount_due"]) == total
