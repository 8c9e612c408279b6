"""OnlineInvoice and Email as Xero serves them: approved sales invoices only; an email goes to the
contact's address, is recorded in the ledger, marks the invoice sent, and is refused as Xero refuses."""

from __future__ import annotations

import httpx

from tests.fixtures.sandbox import RunningSandbox
from tests.sandbox.support import create_invoice, first_contact_id, validation_messages
from xero_sandbox import invoices
from xero_sandbox.store import Organisation


def _email(xero: httpx.Client, invoice_id: str) -> httpx.Response:
    return xero.post(f"/Invoices/{invoice_id}/Email", json={})


def test_an_approved_invoice_has_an_online_invoice_url(xero: httpx.Client) -> None:
    invoice = create_invoice(xero, first_contact_id(xero))
    answer = xero.get(f"/Invoices/{invoice['InvoiceID']}/OnlineInvoice")
    assert answer.status_code == 200
    assert answer.json()["OnlineInvoices"][0]["OnlineInvoiceUrl"].startswith("https://in.xero.com/")


def test_a_draft_has_no_online_invoice(xero: httpx.Client) -> None:
    invoice = create_invoice(xero, first_contact_id(xero), Status="DRAFT")
    answer = xero.get(f"/Invoices/{invoice['InvoiceID']}/OnlineInvoice")
    assert (answer.status_code, validation_messages(answer)) == (400, [invoices.NOT_ONLINE])


def test_an_email_is_recorded_in_the_ledger_and_marks_the_invoice_sent(
    sandbox: RunningSandbox, xero_org: Organisation, xero: httpx.Client
) -> None:
    invoice = create_invoice(xero, first_contact_id(xero))
    assert _email(xero, invoice["InvoiceID"]).status_code == 204
    entry = sandbox.control().get("/ledger").json()[-1]
    sent = sandbox.control().get(f"/organisations/{xero_org.tenant_id}/emails").json()
    again = xero.get(f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert (entry["changes"][0]["entity"], entry["changes"][0]["to"], len(sent), again["SentToContact"]) == (
        "InvoiceEmail",
        sent[0]["To"],
        1,
        True,
    )


def test_a_draft_is_not_emailed(xero: httpx.Client) -> None:
    invoice = create_invoice(xero, first_contact_id(xero), Status="DRAFT")
    answer = _email(xero, invoice["InvoiceID"])
    assert (answer.status_code, validation_messages(answer)) == (400, [invoices.NOT_EMAILABLE])


def test_a_contact_without_an_email_address_is_refused(xero: httpx.Client) -> None:
    contact = xero.put("/Contacts", json={"Name": "No Mail Ltd"}).json()["Contacts"][0]
    invoice = create_invoice(xero, contact["ContactID"])
    answer = _email(xero, invoice["InvoiceID"])
    assert (answer.status_code, validation_messages(answer)) == (400, [invoices.NO_EMAIL_ADDRESS])


def test_the_daily_email_limit_refuses_the_next_email(
    sandbox: RunningSandbox, xero_org: Organisation, xero: httpx.Client
) -> None:
    sandbox.control().post(f"/organisations/{xero_org.tenant_id}/email-limit", json={"per_day": 1})
    first = create_invoice(xero, first_contact_id(xero))
    second = create_invoice(xero, first_contact_id(xero))
    assert _email(xero, first["InvoiceID"]).status_code == 204
    answer = _email(xero, second["InvoiceID"])
    assert (answer.status_code, validation_messages(answer)) == (400, [invoices.EMAIL_LIMIT])
