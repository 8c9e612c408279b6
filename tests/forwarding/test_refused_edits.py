"""After Xero refuses an edit, the server and every phone get Xero's version of the record back."""

from __future__ import annotations

from decimal import Decimal

from reference_client import Phone
from reference_client.phone import Line
from tests.fixtures.devices import NewPhone
from tests.forwarding.conftest import SALES, Forwarding, settle
from tests.forwarding.test_nothing_waits import (
    REFUSED_EDIT,
    invoice_in_xero,
    invoice_on,
    upload_of,
    xero_user_pays,
)


async def test_an_invoice_edit_xero_refuses_brings_xero_s_invoice_back_to_every_phone(
    forwarding: Forwarding, phone: Phone, new_phone: NewPhone
) -> None:
    customer, invoice_id, xero_id = await invoice_in_xero(forwarding, phone)
    other = await new_phone("Alex Field")
    await other.refresh()
    xero_user_pays(forwarding, xero_id, "50.00")  # the office part-pays it in Xero
    phone.create_invoice(
        customer,
        [
            Line("2", "100.00", tax_type="OUTPUT2", account_code=SALES),
            Line("1", "85.00", description="Call-out", tax_type="OUTPUT2", account_code=SALES),
        ],
        invoice_id=invoice_id,
    )

    await phone.upload()
    await settle(forwarding.admin)
    await phone.refresh()
    await other.refresh()

    assert (await upload_of(forwarding, invoice_id))["last_error"] == REFUSED_EDIT
    xero = forwarding.xero_invoice_for(invoice_id)
    for device in (phone, other):
        invoice = invoice_on(device, invoice_id)
        assert (invoice.total, invoice.amount_paid, invoice.amount_due, invoice.status) == (
            Decimal("115.00"),
            Decimal("50.00"),
            Decimal("65.00"),
            "AUTHORISED",
        )
        assert invoice.total == xero["Total"]
        assert [(line.quantity, line.unit_amount, line.line_amount) for line in invoice.lines] == [
            (Decimal("1"), Decimal("100.00"), Decimal("100.00"))
        ]
        assert invoice.sync is not None
        assert (invoice.sync.state, invoice.sync.message) == ("failed", REFUSED_EDIT)


async def test_an_edit_of_an_invoice_paid_in_xero_comes_back_paid_so_the_phone_cannot_pay_it_again(
    forwarding: Forwarding, phone: Phone
) -> None:
    customer, invoice_id, xero_id = await invoice_in_xero(forwarding, phone)
    xero_user_pays(forwarding, xero_id, "115.00")
    phone.create_invoice(
        customer, [Line("3", "100.00", tax_type="OUTPUT2", account_code=SALES)], invoice_id=invoice_id
    )

    await phone.upload()
    await settle(forwarding.admin)
    await phone.refresh()

    invoice = invoice_on(phone, invoice_id)
    assert (invoice.total, invoice.amount_due, invoice.status) == (Decimal("115.00"), Decimal("0.00"), "PAID")
    phone.create_payment(invoice_id, "10.00")
    [result] = await phone.upload()
    assert (result.status, result.code) == ("rejected", "payment_exceeds_amount_due")


async def test_xero_s_invoice_comes_back_with_the_phone_payments_still_on_their_way_counted(
    forwarding: Forwarding, phone: Phone
) -> None:
    customer, invoice_id, xero_id = await invoice_in_xero(forwarding, phone)
    xero_user_pays(forwarding, xero_id, "50.00")
    control = forwarding.sandbox.control()
    assert (
        control.post("/faults", json={"kind": "status", "route": "PUT /api.xro/2.0/Payments*"}).status_code
        == 201
    )
    phone.create_invoice(
        customer, [Line("2", "100.00", tax_type="OUTPUT2", account_code=SALES)], invoice_id=invoice_id
    )
    phone.create_payment(invoice_id, "20.00")

    await phone.upload()
    await settle(forwarding.admin, until=lambda counts: counts["failed"] == 1 and counts["retrying"] == 1)
    await phone.refresh()

    invoice = invoice_on(phone, invoice_id)
    assert (invoice.total, invoice.amount_paid, invoice.amount_due) == (
        Decimal("115.00"),
        Decimal("70.00"),
        Decimal("45.00"),
    )
    control.delete("/faults")
    await settle(forwarding.admin, within=30)
    await phone.refresh()
    invoice = invoice_on(phone, invoice_id)
    assert (invoice.amount_paid, invoice.amount_due) == (Decimal("70.00"), Decimal("45.00"))
