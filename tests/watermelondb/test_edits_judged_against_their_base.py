"""A WatermelonDB app's edit is judged against the record it was made from, not the one it pulled since.

WatermelonDB's pull keeps an app's changed columns over what it brings, and the app cannot say what it
edited from. So an edit of a field a Xero user changed meanwhile, pushed after the pull that brought the
Xero edit (a retry after 409 ``push_conflict``, or simply the next sync), must still be a conflict: decided
by the organisation's ``conflict_policy``, recorded and shown to the admin, and told to the app. An edit
made after the app had seen the Xero edit is a plain edit, no conflict.

The real WatermelonDB package (tests/watermelondb/node/driver.js), the real server over HTTP, the Xero
sandbox (a Xero user's edit through its control API), the forwarding worker as a process of its own.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.http.serving import ServerThread
from server.settings import Settings
from tests.convergence.devices import LineSpec, NodeDriver, WatermelonDevice
from tests.convergence.test_convergence import ledgersync as ledgersync
from tests.convergence.test_convergence import node_driver as node_driver
from tests.convergence.test_convergence import settings as settings
from tests.convergence.test_convergence import worker as worker
from tests.convergence.world import Servers, Worker, World, xero_value
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


def app_of(world: World, n: int = 0) -> WatermelonDevice:
    device = world.devices[n]
    assert isinstance(device, WatermelonDevice)
    return device


async def mirrored_customer(world: World) -> tuple[str, str]:
    """(record id, Xero ContactID) of a customer the app has from Xero."""
    app = app_of(world)
    await app.load()
    for record_id, row in sorted(app.view("customer").items()):
        if row.get("xero_id") and row.get("status") == "ACTIVE":
            return record_id, str(row["xero_id"]).lower()
    raise AssertionError("the app has no customer from Xero")


def xero_user_sets_email(world: World, contact_id: str, email: str) -> None:
    response = world.control.post(
        f"/organisations/{world.tenant_id}/contacts/{contact_id}", json={"EmailAddress": email}
    )
    assert response.status_code == 200, response.text


async def settle(world: World) -> None:
    """Forwarding drains, the mirror pulls, the app syncs twice (it learns its records' fate)."""
    await world.drain(within=30)
    await world.mirror_pull()
    app = app_of(world)
    await app.sync()
    await app.sync()
    await app.load()


async def email_conflicts(world: World, record_id: str) -> list[dict[str, Any]]:
    return [c for c in await world.conflicts() if c["record_id"] == record_id and c["field"] == "email"]


def admin_authorization(world: World) -> dict[str, str]:
    return {"url": world.servers.base_url, "authorization": str(world.admin.headers["Authorization"])}


async def set_policy(world: World, policy: str) -> None:
    response = await world.admin.put("/admin/api/settings", json={"conflict_policy": policy})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("policy", ["xero", "phone"])
async def test_an_edit_pushed_again_after_a_push_conflict_meets_the_xero_edit_as_a_recorded_conflict(
    world: World, policy: str
) -> None:
    await set_policy(world, policy)
    app = app_of(world)
    record_id, contact_id = await mirrored_customer(world)
    await app.edit_customer(record_id, {"email": "from.the.phone@example.com"})
    xero_user_sets_email(world, contact_id, "from.xero@example.com")

    # The mirror brings the Xero edit between the app's pull and its push: 409, the app pulls (keeping
    # its own email over the one the pull brings) and pushes again.
    result = await world.servers.driver.call(  # type: ignore[union-attr]
        "sync", device=app.name, mirror_pull_after_pull=admin_authorization(world)
    )
    assert result["attempts"] == 2, result
    assert "push_conflict" in result["errors"][0]
    await settle(world)

    kept = "from.xero@example.com" if policy == "xero" else "from.the.phone@example.com"
    assert xero_value(world.xero_contacts()[contact_id], "email") == kept
    conflicts = await email_conflicts(world, record_id)
    assert [(c["phone_value"], c["xero_value"], c["resolution"]) for c in conflicts] == [
        ("from.the.phone@example.com", "from.xero@example.com", policy)
    ]
    row = app.view("customer")[record_id]
    assert row["email"] == kept
    assert row["_status"] == "synced"
    owner = "Xero" if policy == "xero" else "this phone"
    assert f"email: {owner}'s value kept" in row["sync_message"]


async def test_an_offline_edit_pushed_after_the_pull_that_brought_a_xero_edit_of_the_field_is_a_conflict(
    world: World,
) -> None:
    app = app_of(world)
    record_id, contact_id = await mirrored_customer(world)
    await app.edit_customer(record_id, {"email": "offline.phone@example.com"})
    xero_user_sets_email(world, contact_id, "meanwhile.xero@example.com")
    await world.mirror_pull()

    await app.sync()  # pulls the Xero edit (WatermelonDB keeps the app's email), then pushes
    await settle(world)

    assert xero_value(world.xero_contacts()[contact_id], "email") == "meanwhile.xero@example.com"
    conflicts = await email_conflicts(world, record_id)
    assert [(c["phone_value"], c["xero_value"]) for c in conflicts] == [
        ("offline.phone@example.com", "meanwhile.xero@example.com")
    ]
    assert app.view("customer")[record_id]["email"] == "meanwhile.xero@example.com"


async def test_an_edit_made_after_the_app_saw_the_xero_edit_replaces_it_without_a_conflict(
    world: World,
) -> None:
    app = app_of(world)
    record_id, contact_id = await mirrored_customer(world)
    xero_user_sets_email(world, contact_id, "seen.first@example.com")
    await world.mirror_pull()
    await app.sync()
    await app.load()
    assert app.view("customer")[record_id]["email"] == "seen.first@example.com"

    await app.edit_customer(record_id, {"email": "then.the.phone@example.com"})
    await app.sync()
    await settle(world)

    assert xero_value(world.xero_contacts()[contact_id], "email") == "then.the.phone@example.com"
    assert await email_conflicts(world, record_id) == []
    assert app.view("customer")[record_id]["email"] == "then.the.phone@example.com"


async def test_an_app_editing_a_field_again_after_its_own_edit_reached_xero_replaces_it_without_a_conflict(
    world: World,
) -> None:
    app = app_of(world)
    record_id, contact_id = await mirrored_customer(world)
    await app.edit_customer(record_id, {"email": "first.edit@example.com"})
    await app.sync()
    await world.drain(within=30)
    await app.edit_customer(record_id, {"email": "second.edit@example.com"})  # before it pulls the fate
    await app.sync()
    await settle(world)

    assert xero_value(world.xero_contacts()[contact_id], "email") == "second.edit@example.com"
    assert await email_conflicts(world, record_id) == []
    assert app.view("customer")[record_id]["email"] == "second.edit@example.com"


async def test_an_invoice_reference_another_app_changed_meanwhile_is_a_recorded_conflict(
    servers: Servers,
) -> None:
    world = await World.create(random.randrange(10_000, 99_999), servers, native=0, watermelon=2)
    try:
        first, second = app_of(world, 0), app_of(world, 1)
        customer_id, _ = await mirrored_customer(world)
        invoice_id = str(uuid.uuid4())
        await first.create_invoice(invoice_id, customer_id, "Job 100", [LineSpec("1", "40.00", "Call-out")])
        await first.sync()
        await world.drain(within=30)
        await first.sync()
        await second.sync()
        await second.load()
        assert second.view("invoice")[invoice_id]["xero_id"]

        await second.write(
            [{"op": "update", "table": "invoices", "id": invoice_id, "fields": {"reference": "Job 100B"}}]
        )
        await first.write(
            [{"op": "update", "table": "invoices", "id": invoice_id, "fields": {"reference": "Job 100A"}}]
        )
        await first.sync()
        await world.drain(within=30)
        await second.sync()  # its pull brings "Job 100A" (WatermelonDB keeps "Job 100B"), then it pushes
        await world.drain(within=30)
        for app in (first, second, first, second):
            await app.sync()
        await second.load()

        xero_id = str(second.view("invoice")[invoice_id]["xero_id"]).lower()
        assert world.xero_invoices()[xero_id]["Reference"] == "Job 100A"  # the policy: Xero's value kept
        conflicts = [c for c in await world.conflicts() if c["record_id"] == invoice_id]
        assert [(c["field"], c["phone_value"], c["xero_value"]) for c in conflicts] == [
            ("reference", "Job 100B", "Job 100A")
        ]
        assert second.view("invoice")[invoice_id]["reference"] == "Job 100A"
    finally:
        await world.close()
