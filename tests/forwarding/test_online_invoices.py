"""Once Xero has an invoice approved, its online invoice URL reaches the phone (native and rows)."""

from __future__ import annotations

from reference_client import Phone
from tests.fixtures.xero_connect import sync_and_wait
from tests.forwarding.conftest import Forwarding, settle
from tests.forwarding.test_back_from_xero import forwarded_invoice, invoice_on
from xero_sandbox import invoices

ONLINE_INVOICE = "GET /api.xro/2.0/Invoices/{invoice_id:str}/OnlineInvoice"  # the sandbox's call count key


async def test_an_approved_invoice_reaches_the_phone_with_its_online_invoice_url(
    forwarding: Forwarding, phone: Phone
) -> None:
    invoice_id, _ = await forwarded_invoice(forwarding, phone, "100.00")
    await phone.refresh()

    expected = invoices.online_invoice_url(forwarding.xero_invoice_for(invoice_id))
    assert invoice_on(phone, invoice_id).online_invoice_url == expected


async def test_an_online_invoice_url_is_fetched_once(forwarding: Forwarding, phone: Phone) -> None:
    await forwarded_invoice(forwarding, phone, "100.00")
    await sync_and_wait(forwarding.admin, ["invoices"])
    await sync_and_wait(forwarding.admin, ["invoices"])

    assert forwarding.sandbox.handle.state.calls[ONLINE_INVOICE] == 1


async def test_a_draft_gets_its_url_once_a_xero_user_approves_it(
    forwarding: Forwarding, phone: Phone
) -> None:
    await forwarding.set(invoice_status="DRAFT")
    invoice_id, xero_id = await forwarded_invoice(forwarding, phone, "40.00")
    await phone.refresh()
    assert invoice_on(phone, invoice_id).online_invoice_url == ""

    tenant = forwarding.xero_org.tenant_id
    forwarding.sandbox.handle.user_edit_invoice(tenant, xero_id, {"Status": "AUTHORISED"})
    await sync_and_wait(forwarding.admin, ["invoices"])
    await settle(forwarding.admin)
    await phone.refresh()

    assert invoice_on(phone, invoice_id).online_invoice_url.startswith("https://in.xero.com/")
