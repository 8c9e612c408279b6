"""A phone asks that Xero email an invoice to its customer: sent exactly once, even when the answer
is lost; refused by Xero (no address) with the reason back on the phone; refused at the door when the
organisation does not allow it."""

from __future__ import annotations

import msgspec

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import Invoice
from sync_protocol.errors import ErrorCode
from tests.forwarding.conftest import SALES, Forwarding, settle
from xero_sandbox import invoices
from xero_sandbox.faults import FaultSpec
from xero_sandbox.invoices import online_invoice_url

EMAIL = "POST /api.xro/2.0/Invoices/*/Email"


def _invoice(phone: Phone, invoice_id: str) -> Invoice:
    return msgspec.json.decode(phone.store.record("invoice", invoice_id) or b"", type=Invoice)


async def _emailed_invoice(phone: Phone, customer: str) -> tuple[str, str]:
    invoice_id = phone.create_invoice(customer, [Line("1", "50.00", tax_type="OUTPUT2", account_code=SALES)])
    mutation_id = phone.email_invoice(invoice_id)
    return invoice_id, mutation_id


def _seeded_customer(phone: Phone) -> str:
    return sorted(record_id for (_, record_id) in phone.store.records("customer"))[0]


async def test_an_invoice_pushed_with_an_email_request_is_emailed_once(
    forwarding: Forwarding, phone: Phone
) -> None:
    await forwarding.set(email_invoices=True)
    await phone.refresh()
    invoice_id, mutation_id = await _emailed_invoice(phone, _seeded_customer(phone))
    await phone.upload()
    await settle(forwarding.admin)
    await phone.refresh()

    invoice = _invoice(phone, invoice_id)
    assert (len(forwarding.xero_org.emails), invoice.emailed, invoice.sync) == (
        1,
        True,
        invoice.sync and msgspec.structs.replace(invoice.sync, state="in_xero", mutation_id=mutation_id),
    )
    assert invoice.online_invoice_url == online_invoice_url(forwarding.xero_invoice_for(invoice_id))


async def test_a_lost_answer_is_reconciled_without_a_second_email(
    forwarding: Forwarding, phone: Phone
) -> None:
    await forwarding.set(email_invoices=True)
    await phone.refresh()
    drop = forwarding.sandbox.handle.add_fault(FaultSpec(kind="drop", route=EMAIL, count=1))
    invoice_id, _ = await _emailed_invoice(phone, _seeded_customer(phone))
    await phone.upload()
    await settle(forwarding.admin)
    await phone.refresh()

    assert (drop.exhausted, len(forwarding.xero_org.emails), _invoice(phone, invoice_id).emailed) == (
        True,
        1,
        True,
    )


async def test_a_customer_without_an_email_address_is_not_emailed_and_the_phone_learns_why(
    forwarding: Forwarding, phone: Phone
) -> None:
    await forwarding.set(email_invoices=True)
    await phone.refresh()
    customer = phone.create_customer("No Address Ltd")
    invoice_id, mutation_id = await _emailed_invoice(phone, customer)
    await phone.upload()
    await settle(forwarding.admin)
    await phone.refresh()

    sync = _invoice(phone, invoice_id).sync
    assert (forwarding.xero_org.emails, sync and (sync.state, sync.mutation_id, sync.message)) == (
        [],
        ("failed", mutation_id, invoices.NO_EMAIL_ADDRESS),
    )


async def test_an_email_request_is_refused_when_the_organisation_does_not_allow_it(
    forwarding: Forwarding, phone: Phone
) -> None:
    await phone.refresh()
    await _emailed_invoice(phone, _seeded_customer(phone))
    results = await phone.upload()

    assert [r.code for r in results if r.status == "rejected"] == [ErrorCode.INVOICE_EMAILS_NOT_ALLOWED]
