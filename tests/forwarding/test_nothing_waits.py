"""No upload waits forever: behind a failed upload it goes (to the record Xero has) or fails naming it,
and every waiting upload says what it waits for, to the phone and to the admin."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import msgspec

from reference_client import Phone
from reference_client.phone import Line
from server.core.fate import settle_stuck
from server.core.records import lock_organisation
from server.db.database import Database
from server.db.sync_models import Upload, UploadDependency
from sync_protocol.entities import Customer, Invoice, Payment, RecordSync
from sync_protocol.messages import CreatePayment, CustomerDraft, PaymentDraft, UpsertCustomer
from tests.fixtures.xero_connect import organisation_of
from tests.forwarding.conftest import SALES, Forwarding, settle

REFUSED_EDIT = "This document cannot be edited as it has a payment or credit note allocated to it."


def sync_of(phone: Phone, entity: str, record_id: str) -> RecordSync:
    kind: type[Customer | Invoice | Payment] = {"customer": Customer, "invoice": Invoice, "payment": Payment}[
        entity
    ]
    record = msgspec.json.decode(phone.store.record(entity, record_id) or b"", type=kind)
    assert record.sync is not None, f"{entity} {record_id} has no sync state on the phone"
    return record.sync


def invoice_on(phone: Phone, invoice_id: str) -> Invoice:
    return msgspec.json.decode(phone.store.record("invoice", invoice_id) or b"", type=Invoice)


async def uploads(forwarding: Forwarding, **params: Any) -> list[dict[str, Any]]:
    response = await forwarding.admin.get("/admin/api/uploads", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["uploads"]
    return items


async def upload_of(forwarding: Forwarding, record_id: str) -> dict[str, Any]:
    return next(u for u in await uploads(forwarding) if u["record_id"] == record_id)


async def invoice_in_xero(
    forwarding: Forwarding, phone: Phone, amount: str = "100.00"
) -> tuple[str, str, str]:
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    invoice_id = phone.create_invoice(customer, [Line("1", amount, tax_type="OUTPUT2", account_code=SALES)])
    await phone.upload()
    await settle(forwarding.admin)
    await phone.refresh()
    return customer, invoice_id, forwarding.xero_invoice_for(invoice_id)["InvoiceID"]


def xero_user_pays(forwarding: Forwarding, xero_invoice_id: str, amount: str) -> None:
    """A Xero user records a payment on the invoice, through the sandbox's control API."""
    tenant = forwarding.xero_org.tenant_id
    response = forwarding.sandbox.control().post(
        f"/organisations/{tenant}/invoices/{xero_invoice_id}/payments",
        json={"amount": amount, "account_code": "090"},
    )
    assert response.status_code == 201, response.text


def xero_payments_on(forwarding: Forwarding, xero_invoice_id: str) -> list[Decimal]:
    return sorted(
        Decimal(str(p["Amount"]))
        for p in forwarding.xero_org.payments.values()
        if p["Invoice"]["InvoiceID"].lower() == xero_invoice_id.lower() and p["Status"] != "DELETED"
    )


async def test_a_payment_taken_behind_an_invoice_edit_xero_refuses_goes_to_the_invoice_xero_has(
    forwarding: Forwarding, phone: Phone
) -> None:
    customer, invoice_id, xero_id = await invoice_in_xero(forwarding, phone)
    xero_user_pays(forwarding, xero_id, "50.00")  # the office part-pays it in Xero
    phone.create_invoice(
        customer, [Line("2", "100.00", tax_type="OUTPUT2", account_code=SALES)], invoice_id=invoice_id
    )
    payment_id = phone.create_payment(invoice_id, "20.00")

    results = await phone.upload()  # the edit and the payment together: the payment waits for the edit
    await settle(forwarding.admin, within=30)

    assert [r.status for r in results] == ["applied", "applied"]
    edit = await upload_of(forwarding, invoice_id)
    assert (edit["state"], edit["last_error"]) == ("failed", REFUSED_EDIT)
    payment = await upload_of(forwarding, payment_id)
    assert payment["state"] == "in_xero"
    assert xero_payments_on(forwarding, xero_id) == [Decimal("20.00"), Decimal("50.00")]
    await phone.refresh()
    assert sync_of(phone, "payment", payment_id).state == "in_xero"


async def test_a_payment_taken_after_an_invoice_edit_was_refused_goes_to_xero_at_once(
    forwarding: Forwarding, phone: Phone
) -> None:
    customer, invoice_id, xero_id = await invoice_in_xero(forwarding, phone)
    xero_user_pays(forwarding, xero_id, "50.00")
    phone.create_invoice(
        customer, [Line("2", "100.00", tax_type="OUTPUT2", account_code=SALES)], invoice_id=invoice_id
    )
    await phone.upload()
    await settle(forwarding.admin)
    await phone.refresh()
    assert sync_of(phone, "invoice", invoice_id).state == "failed"

    payment_id = phone.create_payment(invoice_id, "20.00")
    [result] = await phone.upload()
    await settle(forwarding.admin, within=30)

    assert result.status == "applied"
    assert (await upload_of(forwarding, payment_id))["state"] == "in_xero"
    assert xero_payments_on(forwarding, xero_id) == [Decimal("20.00"), Decimal("50.00")]


async def test_uploads_behind_a_customer_xero_refuses_fail_naming_it_and_go_once_it_is_corrected(
    forwarding: Forwarding, phone: Phone
) -> None:
    taken = next(iter(forwarding.xero_org.contacts.values()))["Name"]  # Xero refuses a second one
    customer_id = phone.create_customer(taken)
    invoice_id = phone.create_invoice(
        customer_id, [Line("1", "100.00", tax_type="OUTPUT2", account_code=SALES)]
    )
    payment_id = phone.create_payment(invoice_id, "115.00")
    await phone.upload()
    await settle(forwarding.admin)
    await phone.refresh()

    customer_upload = await upload_of(forwarding, customer_id)
    assert customer_upload["state"] == "failed"
    invoice = sync_of(phone, "invoice", invoice_id)
    assert invoice.state == "failed"
    assert f"customer {customer_id} (upload {customer_upload['id']}) did not reach Xero" in invoice.message
    assert "already assigned to another contact" in invoice.message
    assert invoice.field == "invoice.customer_id"
    payment = sync_of(phone, "payment", payment_id)
    assert payment.state == "failed"
    assert f"invoice {invoice_id}" in payment.message
    assert payment.field == "payment.invoice_id"
    assert forwarding.writes("/Invoices") == []

    draft = CustomerDraft(id=customer_id, name=f"{taken} (Harbour St)")
    phone.queue(UpsertCustomer(mutation_id=f"fix-{customer_id}", customer=draft))
    await phone.upload()
    await settle(forwarding.admin, within=30)
    await phone.refresh()

    assert [sync_of(phone, e, i).state for e, i in [("customer", customer_id), ("invoice", invoice_id)]] == [
        "in_xero",
        "in_xero",
    ]
    assert sync_of(phone, "payment", payment_id).state == "in_xero"
    assert forwarding.xero_invoice_for(invoice_id)["Status"] == "PAID"


async def test_every_waiting_upload_says_what_it_waits_for_to_the_phone_and_the_admin(
    forwarding: Forwarding, phone: Phone
) -> None:
    tenant_faults = forwarding.sandbox.control()
    fault = tenant_faults.post("/faults", json={"kind": "status", "route": "PUT /api.xro/2.0/Contacts*"})
    assert fault.status_code == 201, fault.text
    customer_id = phone.create_customer("Harbour Cafe Ltd")
    invoice_id = phone.create_invoice(
        customer_id, [Line("1", "100.00", tax_type="OUTPUT2", account_code=SALES)]
    )
    payment_id = phone.create_payment(invoice_id, "115.00")
    await phone.upload()
    await settle(forwarding.admin, until=lambda counts: counts["retrying"] == 1)
    await phone.refresh()

    waiting = await uploads(forwarding, state="waiting")
    assert sorted(u["record_id"] for u in waiting) == sorted([invoice_id, payment_id])
    invoice_upload = await upload_of(forwarding, invoice_id)
    expected = {
        invoice_id: f"waiting for customer {customer_id} to reach Xero",
        payment_id: f"waiting for invoice {invoice_id} to reach Xero",
    }
    assert {u["record_id"]: u["last_error"] for u in waiting} == expected
    assert sync_of(phone, "invoice", invoice_id) == RecordSync(
        state="waiting", mutation_id=invoice_upload["mutation_id"], message=expected[invoice_id]
    )
    assert sync_of(phone, "payment", payment_id).message == expected[payment_id]

    tenant_faults.delete("/faults")
    await settle(forwarding.admin, within=30)
    await phone.refresh()
    assert sync_of(phone, "payment", payment_id) == RecordSync(
        state="in_xero", mutation_id=(await upload_of(forwarding, payment_id))["mutation_id"]
    )


async def test_an_admin_retry_of_a_refused_invoice_sends_the_payments_it_blocked_after_it(
    forwarding: Forwarding, phone: Phone
) -> None:
    tenant = forwarding.xero_org.tenant_id
    control = forwarding.sandbox.control()
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    invoice_id = phone.create_invoice(customer, [Line("1", "100.00", tax_type="OUTPUT2", account_code=SALES)])
    payment_id = phone.create_payment(invoice_id, "115.00")
    archived = control.post(f"/organisations/{tenant}/tax-rates/OUTPUT2", json={"Status": "ARCHIVED"})
    assert archived.status_code == 200, archived.text  # in Xero, before the mirror's next pull
    await phone.upload()
    await settle(forwarding.admin)
    invoice_upload = await upload_of(forwarding, invoice_id)
    assert invoice_upload["state"] == "failed"
    blocked = await upload_of(forwarding, payment_id)
    assert (blocked["state"], blocked["attempts"], blocked["error_field"]) == (
        "failed",
        0,
        "payment.invoice_id",
    )
    assert f"invoice {invoice_id} (upload {invoice_upload['id']}) did not reach Xero" in blocked["last_error"]

    assert (
        control.post(f"/organisations/{tenant}/tax-rates/OUTPUT2", json={"Status": "ACTIVE"}).status_code
        == 200
    )
    retried = await forwarding.admin.post(f"/admin/api/uploads/{invoice_upload['id']}/retry")
    assert retried.status_code == 202, retried.text
    await settle(forwarding.admin, within=30)
    await phone.refresh()

    assert [(await upload_of(forwarding, i))["state"] for i in (invoice_id, payment_id)] == [
        "in_xero",
        "in_xero",
    ]
    assert forwarding.xero_invoice_for(invoice_id)["Status"] == "PAID"
    assert sync_of(phone, "payment", payment_id).state == "in_xero"


async def test_an_upload_an_older_version_left_waiting_behind_a_failed_edit_is_released_by_the_sweep(
    forwarding: Forwarding, phone: Phone, server_db: Database
) -> None:
    customer, invoice_id, xero_id = await invoice_in_xero(forwarding, phone)
    xero_user_pays(forwarding, xero_id, "50.00")
    phone.create_invoice(
        customer, [Line("2", "100.00", tax_type="OUTPUT2", account_code=SALES)], invoice_id=invoice_id
    )
    await phone.upload()
    await settle(forwarding.admin)
    edit = await upload_of(forwarding, invoice_id)
    organisation_id = await organisation_of(forwarding.admin)
    payment = CreatePayment(
        mutation_id="left-waiting",
        payment=PaymentDraft(
            id=str(uuid.uuid4()),
            invoice_id=invoice_id,
            account_code="091",
            date=dt.date.today(),
            amount="20.00",
        ),
    )
    async with server_db.transaction() as session:  # as the older version left it: waiting, silent
        stuck = Upload(
            organisation_id=organisation_id,
            device_id=None,
            mutation_id=payment.mutation_id,
            request_hash="",
            kind="create_payment",
            entity="payment",
            record_id=payment.payment.id,
            state="waiting",
            request=msgspec.json.encode(payment),
            result=b"{}",
        )
        session.add(stuck)
        await session.flush()
        session.add(UploadDependency(upload_id=stuck.id, depends_on_id=edit["id"]))

    async with server_db.transaction() as session:
        await lock_organisation(session, organisation_id)
        assert await settle_stuck(session, organisation_id) == 1
    await settle(forwarding.admin, within=30)  # the workers poll: the released payment is due now

    assert xero_payments_on(forwarding, xero_id) == [Decimal("20.00"), Decimal("50.00")]
