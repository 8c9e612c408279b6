"""Switching the Xero organisation an organisation syncs with (docs/protocol.md, "Retention and
resync"; docs/mirror.md): phones' cursors from before get ``409 resync_required``, what phones made for
the old organisation and is not there yet fails instead of going to the new one, and the sync log has
the connect, the pairing and the switch."""

from __future__ import annotations

import asyncio

import httpx

from reference_client import Phone
from reference_client.phone import Line
from server.http.serving import ServerThread
from tests.fixtures.devices import PROTOCOL
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import connect, sync_and_wait

OTHER_BANK, SALES = "091", "200"


async def choose(admin_client: httpx.AsyncClient, tenant_id: str) -> None:
    offered = (await connect(admin_client)).json()
    assert offered["status"] == "choose_tenant", offered
    chosen = await admin_client.post(
        "/admin/api/xero/tenant", json={"state": offered["state"], "tenant_id": tenant_id}
    )
    assert chosen.status_code == 200, chosen.text


async def uploads_in(admin_client: httpx.AsyncClient, state: str, count: int) -> list[dict[str, object]]:
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        found: list[dict[str, object]] = (
            await admin_client.get("/admin/api/uploads", params={"state": state})
        ).json()["uploads"]
        if len(found) == count:
            return found
        assert asyncio.get_running_loop().time() < deadline, found
        await asyncio.sleep(0.05)


async def test_a_switch_resyncs_phones_and_leaves_the_old_organisations_uploads_unsent(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, ledgersync: ServerThread
) -> None:
    first = xero_sandbox.organisation("First Org", contacts=2, items=1)
    second = xero_sandbox.organisation("Second Org", contacts=3, items=1)
    await choose(admin_client, first.tenant_id)
    await sync_and_wait(admin_client)
    saved = await admin_client.put(
        "/admin/api/settings",
        json={"bank_account_code": OTHER_BANK, "revenue_account_code": SALES, "forward_payments": False},
    )
    assert saved.status_code == 200, saved.text
    issued = await admin_client.post("/admin/api/devices/pairing-codes", json={"staff_name": "Sam Field"})
    phone = Phone(ledgersync.base_url)
    try:
        await phone.pair(issued.json()["code"])
        await phone.refresh()
        customer = sorted(record_id for (_, record_id) in phone.store.records("customer"))[0]
        invoice = phone.create_invoice(customer, [Line("1", "40.00", tax_type="NONE")])
        phone.create_payment(invoice, "40.00")
        assert {r.status for r in await phone.upload()} == {"applied"}
        await uploads_in(admin_client, "held", 1)
        await uploads_in(admin_client, "done", 1)
        cursor = phone.store.cursor

        await choose(admin_client, second.tenant_id)

        # The phone's cursor is from before the switch: never a feed of tombstones, a resync.
        async with httpx.AsyncClient(base_url=ledgersync.base_url) as http:
            answer = await http.get(
                "/mobile/v1/changes",
                params={"cursor": cursor},
                headers={**PROTOCOL, "Authorization": f"Bearer {phone.token}"},
            )
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "resync_required"
        await sync_and_wait(admin_client)
        report = await phone.refresh()
        assert report.resynced
        assert len(phone.store.records("customer")) == len(second.contacts)
    finally:
        await phone.close()

    [payment] = await uploads_in(admin_client, "failed", 1)
    assert payment["kind"] == "create_payment"
    assert "made for the Xero organisation First Org; not sent to Second Org" in str(payment["last_error"])
    await uploads_in(admin_client, "held", 0)
    with xero_sandbox.handle.locked():
        assert not second.invoices
    events = (await admin_client.get("/admin/api/sync-runs", params={"kind": "event"})).json()["runs"]
    assert [run["types"] for run in events] == [["switched"], ["device_paired"], ["connected"]]
    assert "Second Org" in events[0]["details"]["summary"]
