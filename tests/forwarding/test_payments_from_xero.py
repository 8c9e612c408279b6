"""Xero's payments on the invoices phones made come back as payment records (issue 19).

The office records, removes or voids in Xero (the sandbox, as a Xero user); the next mirror pull
brings each payment to phones as a ``payment`` record, and the invoice's amounts agree with the
payment records the phone holds. Real HTTP against the sandbox, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import msgspec

from reference_client import Phone
from sync_protocol.entities import Invoice, Payment
from tests.fixtures.xero_connect import sync_and_wait
from tests.forwarding.conftest import OTHER_BANK, Forwarding, settle
from tests.forwarding.test_back_from_xero import forwarded_invoice, invoice_on

PAYMENTS_CALL = "GET /api.xro/2.0/Payments"


def payments_on(phone: Phone, invoice_id: str) -> list[Payment]:
    found = [msgspec.json.decode(p, type=Payment) for p in phone.store.records("payment").values()]
    return sorted((p for p in found if p.invoice_id == invoice_id), key=lambda p: p.id)


def assert_consistent(phone: Phone, invoice_id: str) -> Invoice:
    """The invoice's amounts are what the payment records the phone holds say (a voided invoice owes
    nothing, as in Xero)."""
    invoice = invoice_on(phone, invoice_id)
    paid = sum((p.amount for p in payments_on(phone, invoice_id) if p.status == "AUTHORISED"), Decimal(0))
    assert invoice.amount_paid == paid
    owed = Decimal(0) if invoice.status == "VOIDED" else invoice.total - paid
    assert invoice.amount_due == owed
    return invoice


def pay_in_xero(forwarding: Forwarding, xero_invoice_id: str, amount: str) -> str:
    payment = forwarding.sandbox.handle.user_record_payment(
        forwarding.xero_org.tenant_id, xero_invoice_id, Decimal(amount)
    )
    return str(payment["PaymentID"])


async def test_a_payment_recorded_in_xero_by_the_office_reaches_the_phone_as_a_payment_record(
    forwarding: Forwarding, phone: Phone
) -> None:
    invoice_id, xero_id = await forwarded_invoice(forwarding, phone, "100.00")  # 115.00 with GST
    payment_id = pay_in_xero(forwarding, xero_id, "40.00")

    run = await sync_and_wait(forwarding.admin)
    await phone.refresh()

    assert run["status"] == "succeeded", run["errors"]
    [payment] = payments_on(phone, invoice_id)
    assert (payment.xero_id or "").lower() == payment_id.lower()
    assert (payment.amount, payment.status, payment.account_code) == (Decimal("40.00"), "AUTHORISED", "090")
    assert payment.sync is None  # made in Xero, not uploaded
    invoice = assert_consistent(phone, invoice_id)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (
        "AUTHORISED",
        Decimal("40.00"),
        Decimal("75.00"),
    )


async def test_a_payments_pull_alone_keeps_the_invoice_consistent_with_its_payments(
    forwarding: Forwarding, phone: Phone
) -> None:
    """Only payments are pulled (not the invoice): the invoice's amounts still follow the payment."""
    invoice_id, xero_id = await forwarded_invoice(forwarding, phone, "100.00")
    pay_in_xero(forwarding, xero_id, "115.00")

    await sync_and_wait(forwarding.admin, ["payments"])
    await phone.refresh()

    [payment] = payments_on(phone, invoice_id)
    assert payment.amount == Decimal("115.00")
    invoice = assert_consistent(phone, invoice_id)
    assert (invoice.status, invoice.amount_due) == ("PAID", Decimal("0.00"))


async def test_a_payment_deleted_in_xero_becomes_deleted_on_the_phone(
    forwarding: Forwarding, phone: Phone
) -> None:
    invoice_id, xero_id = await forwarded_invoice(forwarding, phone, "100.00")
    payment_id = pay_in_xero(forwarding, xero_id, "115.00")
    await sync_and_wait(forwarding.admin)
    await phone.refresh()
    assert invoice_on(phone, invoice_id).status == "PAID"

    forwarding.sandbox.handle.user_delete_payment(forwarding.xero_org.tenant_id, payment_id)
    await sync_and_wait(forwarding.admin)
    await phone.refresh()

    [payment] = payments_on(phone, invoice_id)
    assert payment.status == "DELETED"
    invoice = assert_consistent(phone, invoice_id)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (
        "AUTHORISED",
        Decimal("0.00"),
        Decimal("115.00"),
    )


async def test_a_void_in_xero_reverses_the_invoices_payments(forwarding: Forwarding, phone: Phone) -> None:
    invoice_id, xero_id = await forwarded_invoice(forwarding, phone, "100.00")
    pay_in_xero(forwarding, xero_id, "15.00")
    pay_in_xero(forwarding, xero_id, "100.00")
    await sync_and_wait(forwarding.admin)
    await phone.refresh()
    assert [p.status for p in payments_on(phone, invoice_id)] == ["AUTHORISED", "AUTHORISED"]

    # Xero voids no invoice with payments: its user removes them first (each DELETED), then voids.
    forwarding.sandbox.handle.user_void_invoice(forwarding.xero_org.tenant_id, xero_id, remove_payments=True)
    await sync_and_wait(forwarding.admin)
    await phone.refresh()

    assert [p.status for p in payments_on(phone, invoice_id)] == ["DELETED", "DELETED"]
    invoice = assert_consistent(phone, invoice_id)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (
        "VOIDED",
        Decimal("0.00"),
        Decimal("0.00"),
    )


async def test_the_phones_own_payment_stays_one_record_through_the_mirror(
    forwarding: Forwarding, phone: Phone
) -> None:
    invoice_id, _ = await forwarded_invoice(forwarding, phone, "100.00")
    await phone.refresh()
    payment_id = phone.create_payment(invoice_id, "30.00")
    await phone.upload()
    await settle(forwarding.admin)

    await sync_and_wait(forwarding.admin)
    await phone.refresh()

    [payment] = payments_on(phone, invoice_id)
    assert payment.id == payment_id
    assert payment.sync is not None
    assert payment.sync.state == "in_xero"
    assert (payment.amount, payment.status, payment.account_code) == (
        Decimal("30.00"),
        "AUTHORISED",
        OTHER_BANK,
    )
    assert len([p for p in forwarding.xero_org.payments.values() if p["Status"] == "AUTHORISED"]) == 1
    assert_consistent(phone, invoice_id)

    # The office removes it in Xero: the phone's own record says so (still one record).
    forwarding.sandbox.handle.user_delete_payment(forwarding.xero_org.tenant_id, str(payment.xero_id))
    await sync_and_wait(forwarding.admin)
    await phone.refresh()

    [deleted] = payments_on(phone, invoice_id)
    assert (deleted.id, deleted.status) == (payment_id, "DELETED")
    assert assert_consistent(phone, invoice_id).amount_due == Decimal("115.00")


async def test_payments_are_read_incrementally_from_the_high_water_mark(
    forwarding: Forwarding, phone: Phone
) -> None:
    """One ``GET /Payments`` a pull; the next one starts from the newest payment seen (less the
    overlap), so a payment older than that is not read again."""
    invoice_id, xero_id = await forwarded_invoice(forwarding, phone, "100.00")
    pay_in_xero(forwarding, xero_id, "10.00")
    forwarding.sandbox.handle.advance(900)  # 15 minutes in Xero: past the pull's overlap
    pay_in_xero(forwarding, xero_id, "20.00")
    control = forwarding.sandbox.control()
    control.delete("/calls")

    first = await sync_and_wait(forwarding.admin, ["payments"])
    again = await sync_and_wait(forwarding.admin, ["payments"])

    assert control.get("/calls").json() == {PAYMENTS_CALL: 2}
    assert first["fetched"] == 2
    assert again["fetched"] <= 1  # at most the newest, within the overlap; never the hour-old one
    await phone.refresh()
    assert len(payments_on(phone, invoice_id)) == 2


async def test_an_organisation_whose_phones_made_no_invoice_makes_no_payments_call(
    forwarding: Forwarding,
) -> None:
    control = forwarding.sandbox.control()
    control.delete("/calls")

    run = await sync_and_wait(forwarding.admin)

    assert run["status"] == "succeeded", run["errors"]
    assert PAYMENTS_CALL not in control.get("/calls").json()


async def test_a_watermelondb_app_gets_xero_payments_in_its_payments_table_and_deletions_deleted(
    forwarding: Forwarding, phone: Phone, mobile: httpx.AsyncClient
) -> None:
    invoice_id, xero_id = await forwarded_invoice(forwarding, phone, "100.00")
    first = await watermelon_pull(mobile, None)
    payment_id = pay_in_xero(forwarding, xero_id, "50.00")
    await sync_and_wait(forwarding.admin)

    paid = await watermelon_pull(mobile, first["timestamp"])

    [row] = paid["changes"]["payments"]["created"]
    assert (row["invoice_id"], row["amount"], row["status"]) == (invoice_id, "50.00", "AUTHORISED")
    assert str(row["xero_id"]).lower() == payment_id.lower()
    [invoice_row] = paid["changes"]["invoices"]["updated"]
    assert (invoice_row["amount_paid"], invoice_row["amount_due"]) == ("50.00", "65.00")

    forwarding.sandbox.handle.user_delete_payment(forwarding.xero_org.tenant_id, payment_id)
    await sync_and_wait(forwarding.admin)
    removed = await watermelon_pull(mobile, paid["timestamp"])

    assert removed["changes"]["payments"]["deleted"] == [row["id"]]
    [invoice_row] = removed["changes"]["invoices"]["updated"]
    assert invoice_row["amount_due"] == "115.00"


async def watermelon_pull(mobile: httpx.AsyncClient, last_pulled_at: int | None) -> dict[str, Any]:
    response = await mobile.get(
        "/mobile/v1/watermelon/pull",
        params={"last_pulled_at": "null" if last_pulled_at is None else last_pulled_at},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
