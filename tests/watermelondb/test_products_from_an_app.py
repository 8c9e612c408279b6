"""A WatermelonDB app creates a product and sells it on an invoice in the same push.

The real WatermelonDB package (tests/watermelondb/node/driver.js), the real server over HTTP, the Xero
sandbox, the forwarding worker as a process of its own.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.http.serving import ServerThread
from server.settings import Settings
from tests.convergence.devices import LineSpec, NodeDriver, WatermelonDevice, drafted_lines
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


def product_fields(code: str, **more: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"App product {code}",
        "description": "made in the app",
        "unit_price": "19.9900",
        "account_code": "200",
        "tax_type": "OUTPUT2",
        "is_sold": True,
        "is_purchased": False,
        **more,
    }


async def products_of(app: WatermelonDevice) -> dict[str, dict[str, Any]]:
    tables: dict[str, list[dict[str, Any]]] = (await app.rows())["tables"]
    return {row["id"]: row for row in tables["products"]}


async def test_an_app_creates_a_product_and_sells_it_on_an_invoice_in_one_push(world: World) -> None:
    device = world.devices[0]
    assert isinstance(device, WatermelonDevice)
    app = device
    customer, product, invoice = (str(uuid.uuid4()) for _ in range(3))
    lines, totals = drafted_lines([LineSpec("3", "19.99", "App widget")])
    ops: list[dict[str, Any]] = [
        {"op": "create", "table": "customers", "id": customer, "fields": {"name": "App Product Buyer"}},
        {"op": "create", "table": "products", "id": product, "fields": product_fields("APP-W1")},
        {
            "op": "create",
            "table": "invoices",
            "id": invoice,
            "fields": {
                "customer_id": customer,
                "reference": "app product",
                "line_amount_type": "Exclusive",
                "date": dt.date.today().isoformat(),
                **totals,
            },
        },
        *(
            {
                "op": "create",
                "table": "invoice_lines",
                "id": str(uuid.uuid4()),
                "fields": {**row, "invoice_id": invoice, "product_id": product},
            }
            for row in lines
        ),
    ]
    await app.write(ops)
    result = await app.sync()
    assert result["rejected"] == {}, result

    await world.drain(within=30)
    await world.mirror_pull()
    await app.sync()
    await app.sync()

    items = [i for i in world.xero_get("/Items", "Items") if i["Code"] == "APP-W1"]
    assert len(items) == 1
    [xero_invoice] = [i for i in world.xero_invoices().values() if i.get("Reference") == "app product"]
    full = world.xero_get(f"/Invoices/{xero_invoice['InvoiceID']}", "Invoices")[0]
    assert [line.get("ItemCode") for line in full["LineItems"]] == ["APP-W1"]
    row = (await products_of(app))[product]
    assert str(row["xero_id"]).lower() == items[0]["ItemID"].lower()
    assert row["sync_state"] == "in_xero"
    assert row["_status"] == "synced"


async def test_an_app_product_with_a_code_another_product_has_is_rejected_naming_the_code(
    world: World,
) -> None:
    device = world.devices[0]
    assert isinstance(device, WatermelonDevice)
    app = device
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    await app.write(
        [
            {"op": "create", "table": "products", "id": first, "fields": product_fields("APP-DUP")},
            {"op": "create", "table": "products", "id": second, "fields": product_fields("app-dup")},
        ]
    )
    await app.sync()
    await app.sync()

    # WatermelonDB pushes a table's rows in an order of its own: whichever comes second is refused.
    rows = await products_of(app)
    states = sorted(
        (rows[i]["sync_state"], rows[i]["sync_code"], rows[i]["sync_field"]) for i in (first, second)
    )
    assert states == [("accepted", "", ""), ("rejected", "code_taken", "product.code")]
