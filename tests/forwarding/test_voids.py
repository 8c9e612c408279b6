"""Voids from phones: an invoice voided before it ever reached Xero is never sent there."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import msgspec
import pytest

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import Invoice, Payment
from sync_protocol.messages import DeletePayment
from tests.fixtures.devices import PairDevice
from tests.fixtures.xero_connect import sync_and_wait
from tests.forwarding.conftest import SALES, Forwarding, settle

WATERMELON_PULL = "/mobile/v1/watermelon/pull"
WATERMELON_PUSH = "/mobile/v1/watermelon/push"


async def test_an_invoice_voided_on_the_phone_before_it_reached_xero_is_never_sent_nor_its_payments(
    forwarding: Forwarding, phone: Phone
) -> None:
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    invoice_id = phone.create_invoice(customer, [Line("1", "40.00", tax_type="OUTPUT2", account_code=SALES)])
    payment_id = phone.create_payment(invoice_id, "10.00")
    phone.queue(DeletePayment(mutation_id=str(uuid.uuid4()), payment_id=payment_id))
    phone.void_invoice(invoice_id)

    results = await phone.upload()
    await settle(forwarding.admin)
    await phone.refresh()

    assert [r.status for r in results] == ["applied"] * 4
    assert forwarding.xero_invoices_for(invoice_id) == []
    assert forwarding.writes("/Invoices") == []
    assert forwarding.writes("/Payments") == []
    uploads = (await forwarding.admin.get("/admin/api/uploads", params={"limit": 10})).json()["uploads"]
    states = {(u["kind"], u["state"]) for u in uploads}
    assert states == {
        ("upsert_invoice", "held"),
        ("create_payment", "held"),
        ("delete_payment", "held"),
        ("void_invoice", "held"),
    }
    messages = {u["kind"]: u["last_error"] for u in uploads}
    assert "voided on the phone before it reached Xero" in messages["upsert_invoice"]
    assert "voided on the phone before it reached Xero" in messages["create_payment"]
    assert "never reached Xero" in messages["void_invoice"]
    invoice = msgspec.json.decode(phone.store.record("invoice", invoice_id) or b"", type=Invoice)
    assert (invoice.status, invoice.xero_id) == ("VOIDED", None)
    assert invoice.sync is not None
    assert invoice.sync.state == "held"
    assert "never reached Xero" in invoice.sync.message
    payment = msgspec.json.decode(phone.store.record("payment", payment_id) or b"", type=Payment)
    assert payment.status == "DELETED"
    assert payment.sync is not None
    assert payment.sync.state == "held"


async def test_a_void_xero_refuses_brings_the_invoice_back_to_watermelondb_apps_with_the_failure(
    forwarding: Forwarding, phone: Phone, pair_device: PairDevice, client: httpx.AsyncClient
) -> None:
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    invoice_id = phone.create_invoice(customer, [Line("1", "100.00", tax_type="OUTPUT2", account_code=SALES)])
    await phone.upload()
    await settle(forwarding.admin)
    xero_id = forwarding.xero_invoice_for(invoice_id)["InvoiceID"]
    app = (await pair_device("WatermelonDB app")).headers
    first = (await client.get(WATERMELON_PULL, params={"last_pulled_at": 0}, headers=app)).json()
    assert invoice_id in [r["id"] for r in first["changes"]["invoices"]["created"]]
    # The office takes a payment in Xero; before the mirror hears of it, the app deletes (voids) the invoice.
    forwarding.sandbox.handle.user_record_payment(forwarding.xero_org.tenant_id, xero_id, Decimal("15.00"))
    deleted = await client.post(
        WATERMELON_PUSH,
        params={"last_pulled_at": first["timestamp"]},
        json={"invoices": {"created": [], "updated": [], "deleted": [invoice_id]}},
        headers=app,
    )
    assert deleted.json()["experimentalRejectedIds"] == {}, deleted.text

    await settle(forwarding.admin)
    after = (
        await client.get(WATERMELON_PULL, params={"last_pulled_at": first["timestamp"]}, headers=app)
    ).json()

    assert forwarding.xero_org.invoices[xero_id.lower()]["Status"] == "AUTHORISED"  # Xero refused the void
    [invoice] = after["changes"]["invoices"]["created"]  # the app deleted it: it comes back
    assert invoice["id"] == invoice_id
    assert invoice["sync_state"] == "failed"
    assert "payments" in invoice["sync_message"]
    assert after["changes"]["invoices"]["deleted"] == []


async def app_deletes(
    client: httpx.AsyncClient, app: dict[str, str], last_pulled_at: int, invoice_id: str
) -> None:
    """An app's ``synchronize()`` deleting an invoice: pull, push; a push conflict pulls again."""
    for _ in range(5):
        pulled = (
            await client.get(WATERMELON_PULL, params={"last_pulled_at": last_pulled_at}, headers=app)
        ).json()
        last_pulled_at = pulled["timestamp"]
        pushed = await client.post(
            WATERMELON_PUSH,
            params={"last_pulled_at": last_pulled_at},
            json={"invoices": {"created": [], "updated": [], "deleted": [invoice_id]}},
            headers=app,
        )
        if pushed.status_code != 409:
            assert pushed.json()["experimentalRejectedIds"] == {}, pushed.text
            return
    raise AssertionError(f"the app's push kept conflicting: {pushed.text}")


@pytest.mark.parametrize("in_xero_meanwhile", ["nothing", "voided", "reference_edited", "customer_archived"])
async def test_an_edit_on_its_way_then_voided_by_an_app_ends_as_xero_has_it_everywhere(
    forwarding: Forwarding,
    phone: Phone,
    pair_device: PairDevice,
    client: httpx.AsyncClient,
    in_xero_meanwhile: str,
) -> None:
    # Found by the convergence test (seed 9): an invoice edited on a phone (new reference, a line
    # more) and voided by an app before the edit went ended VOIDED in Xero with the old reference
    # and totals, while the server kept the edit's.
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    lines = [Line("1", "100.00", tax_type="OUTPUT2", account_code=SALES)]
    invoice_id = phone.create_invoice(customer, lines, reference="Ref 10")
    await phone.upload()
    await settle(forwarding.admin)
    xero_id = forwarding.xero_invoice_for(invoice_id)["InvoiceID"]
    app = (await pair_device("WatermelonDB app")).headers
    first = (await client.get(WATERMELON_PULL, params={"last_pulled_at": 0}, headers=app)).json()

    edited = [*lines, Line("2", "15.00", "Call-out", tax_type="OUTPUT2", account_code=SALES)]
    phone.create_invoice(customer, edited, invoice_id=invoice_id, reference="Ref 26")
    [edit] = await phone.upload()
    assert edit.status == "applied", edit
    tenant, handle = forwarding.xero_org.tenant_id, forwarding.sandbox.handle
    if in_xero_meanwhile == "voided":
        handle.user_void_invoice(tenant, xero_id)
    elif in_xero_meanwhile == "reference_edited":
        handle.user_edit_invoice(tenant, xero_id, {"Reference": "Ref 11"})
    elif in_xero_meanwhile == "customer_archived":
        contact = forwarding.xero_invoice_for(invoice_id)["Contact"]["ContactID"]
        handle.user_archive_contact(tenant, contact)
    # The app syncs (pull, then push) while the edit is still on its way to Xero.
    await app_deletes(client, app, first["timestamp"], invoice_id)
    await settle(forwarding.admin)
    run = await sync_and_wait(forwarding.admin)
    assert run["status"] == "succeeded", run["errors"]
    await phone.refresh()

    xero = forwarding.xero_invoice_for(invoice_id)
    assert xero["Status"] == "VOIDED"
    server = msgspec.json.decode(phone.store.record("invoice", invoice_id) or b"", type=Invoice)
    assert (server.status, server.reference, server.total) == (
        xero["Status"],
        xero["Reference"],
        Decimal(str(xero["Total"])),
    )
