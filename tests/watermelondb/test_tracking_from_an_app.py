"""A WatermelonDB app pulls tracking categories, options and branding themes, and pushes an invoice
whose line carries a tracking option and which names a theme: Xero's invoice has both.

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


def tracked_invoice(
    customer: str, invoice: str, option: str | None, theme: str | None
) -> list[dict[str, Any]]:
    lines, totals = drafted_lines([LineSpec("2", "49.95", "Tap washer kit")])
    return [
        {
            "op": "create",
            "table": "invoices",
            "id": invoice,
            "fields": {
                "customer_id": customer,
                "reference": f"tracked {invoice[:8]}",
                "line_amount_type": "Exclusive",
                "date": dt.date.today().isoformat(),
                "branding_theme_id": theme,
                **totals,
            },
        },
        *(
            {
                "op": "create",
                "table": "invoice_lines",
                "id": str(uuid.uuid4()),
                "fields": {**row, "invoice_id": invoice, "tracking_option_1_id": option},
            }
            for row in lines
        ),
    ]


async def test_an_app_pulls_tracking_and_themes_and_its_invoice_lands_in_xero_with_them(world: World) -> None:
    [app] = world.devices
    assert isinstance(app, WatermelonDevice)
    region = world.control.post(
        f"/organisations/{world.tenant_id}/tracking-categories", json={"Name": "Region", "Options": ["North"]}
    ).json()
    theme = world.control.post(
        f"/organisations/{world.tenant_id}/branding-themes", json={"Name": "Field"}
    ).json()
    await world.mirror_pull()
    await app.sync()

    tables: dict[str, list[dict[str, Any]]] = (await app.rows())["tables"]
    [category] = tables["tracking_categories"]
    assert (category["name"], category["status"], category["xero_id"]) == (
        "Region",
        "ACTIVE",
        region["TrackingCategoryID"],
    )
    [option] = tables["tracking_options"]
    assert (option["name"], option["tracking_category_id"]) == ("North", category["id"])
    themes = {row["name"]: row for row in tables["branding_themes"]}
    assert {name: row["sort_order"] for name, row in themes.items()} == {"Standard": 0, "Field": 1}

    customer = tables["customers"][0]["id"]
    invoice = str(uuid.uuid4())
    await app.write(tracked_invoice(customer, invoice, option["id"], themes["Field"]["id"]))
    result = await app.sync()
    assert result["rejected"] == {}, result
    await world.drain(within=30)

    [xero_invoice] = [
        i for i in world.xero_invoices().values() if i.get("Reference") == f"tracked {invoice[:8]}"
    ]
    full = world.xero_get(f"/Invoices/{xero_invoice['InvoiceID']}", "Invoices")[0]
    assert full["BrandingThemeID"] == theme["BrandingThemeID"]
    assert [(t["Name"], t["Option"]) for t in full["LineItems"][0]["Tracking"]] == [("Region", "North")]
    await app.sync()
    rows = (await app.rows())["tables"]
    [line] = [row for row in rows["invoice_lines"] if row["invoice_id"] == invoice]
    assert line["tracking_option_1_id"] == option["id"]
    assert line["tracking_option_2_id"] is None


async def test_an_app_line_with_an_archived_option_is_rejected_naming_its_tracking(world: World) -> None:
    [app] = world.devices
    assert isinstance(app, WatermelonDevice)
    region = world.control.post(
        f"/organisations/{world.tenant_id}/tracking-categories", json={"Name": "Region", "Options": ["North"]}
    ).json()
    north = region["Options"][0]["TrackingOptionID"]
    archived = world.control.post(
        f"/organisations/{world.tenant_id}/tracking-categories/{region['TrackingCategoryID']}/options/{north}",
        json={"Status": "ARCHIVED"},
    )
    assert archived.status_code == 200, archived.text
    await world.mirror_pull()
    await app.sync()
    tables: dict[str, list[dict[str, Any]]] = (await app.rows())["tables"]
    [option] = tables["tracking_options"]
    assert option["status"] == "ARCHIVED"

    invoice = str(uuid.uuid4())
    await app.write(tracked_invoice(tables["customers"][0]["id"], invoice, option["id"], None))
    await app.sync()
    await app.sync()  # brings the rejection's columns

    rows = {row["id"]: row for row in (await app.rows())["tables"]["invoices"]}
    assert (rows[invoice]["sync_code"], rows[invoice]["sync_field"]) == (
        "tracking_option_archived",
        "invoice.lines[0].tracking",
    )
