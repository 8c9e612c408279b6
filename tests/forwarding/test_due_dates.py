"""An invoice the phone sends without a due date lands in Xero with the due date Xero's UI would give
it: the customer's sales payment terms, else the organisation's (Xero's API applies neither itself)."""

from __future__ import annotations

import datetime as dt

import msgspec

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import Customer, Invoice
from tests.fixtures.xero_connect import sync_and_wait
from tests.forwarding.conftest import SALES, Forwarding, settle


def _customers_by_xero_id(phone: Phone) -> dict[str, str]:
    found = {}
    for _, record_id in phone.store.records("customer"):
        customer = msgspec.json.decode(phone.store.record("customer", record_id) or b"", type=Customer)
        if customer.xero_id:
            found[customer.xero_id.lower()] = record_id
    return found


async def test_an_invoice_without_a_due_date_gets_its_customers_terms_else_the_organisations(
    forwarding: Forwarding, phone: Phone
) -> None:
    control, tenant = forwarding.sandbox.control(), forwarding.xero_org.tenant_id
    org_terms = control.post(
        f"/organisations/{tenant}/payment-terms", json={"Sales": {"Day": 20, "Type": "OFFOLLOWINGMONTH"}}
    )
    assert org_terms.status_code == 200, org_terms.text
    with_terms, without_terms, *_ = sorted(forwarding.xero_org.contacts)
    edited = control.post(
        f"/organisations/{tenant}/contacts/{with_terms}",
        json={"PaymentTerms": {"Sales": {"Day": 7, "Type": "DAYSAFTERBILLDATE"}}},
    )
    assert edited.status_code == 200, edited.text
    run = await sync_and_wait(forwarding.admin)
    assert run["status"] == "succeeded", run["errors"]
    await phone.refresh()
    customers = _customers_by_xero_id(phone)
    day = dt.date(2026, 3, 10)
    own_terms = phone.create_invoice(
        customers[with_terms], [Line("1", "50.00", tax_type="OUTPUT2", account_code=SALES)], date=day
    )
    org_default = phone.create_invoice(
        customers[without_terms], [Line("1", "50.00", tax_type="OUTPUT2", account_code=SALES)], date=day
    )
    results = await phone.upload()
    assert [r.status for r in results] == ["applied", "applied"]

    await settle(forwarding.admin)

    assert forwarding.xero_invoice_for(own_terms)["DueDate"] == dt.date(2026, 3, 17)
    assert forwarding.xero_invoice_for(org_default)["DueDate"] == dt.date(2026, 4, 20)
    await phone.refresh()
    on_phone = {
        invoice_id: msgspec.json.decode(
            phone.store.record("invoice", invoice_id) or b"", type=Invoice
        ).due_date
        for invoice_id in (own_terms, org_default)
    }
    assert on_phone == {own_terms: dt.date(2026, 3, 17), org_default: dt.date(2026, 4, 20)}


async def test_the_phones_due_date_wins_over_payment_terms(forwarding: Forwarding, phone: Phone) -> None:
    control = forwarding.sandbox.control()
    answer = control.post(
        f"/organisations/{forwarding.xero_org.tenant_id}/payment-terms",
        json={"Sales": {"Day": 20, "Type": "OFFOLLOWINGMONTH"}},
    )
    assert answer.status_code == 200, answer.text
    await sync_and_wait(forwarding.admin)
    await phone.refresh()
    customer = sorted(record_id for (_, record_id) in phone.store.records("customer"))[0]
    invoice_id = phone.create_invoice(
        customer,
        [Line("1", "50.00", tax_type="OUTPUT2", account_code=SALES)],
        date=dt.date(2026, 3, 10),
        due_date=dt.date(2026, 3, 12),
    )
    await phone.upload()

    await settle(forwarding.admin)

    assert forwarding.xero_invoice_for(invoice_id)["DueDate"] == dt.date(2026, 3, 12)


def test_the_sandbox_refuses_a_month_day_outside_1_to_31(forwarding: Forwarding) -> None:
    answer = forwarding.sandbox.control().post(
        f"/organisations/{forwarding.xero_org.tenant_id}/payment-terms",
        json={"Sales": {"Day": 0, "Type": "OFCURRENTMONTH"}},
    )
    assert answer.status_code == 400
    assert "between 1 and 31" in answer.text
