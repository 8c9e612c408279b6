"""Batches of 50: one refused invoice fails alone, with Xero's message; a fix forwards it."""

from __future__ import annotations

import msgspec

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import Customer, Invoice
from tests.forwarding.conftest import SALES, Forwarding, settle

INTEREST_INCOME = "270"


def customers_of(phone: Phone) -> list[str]:
    return sorted(record_id for (_, record_id) in phone.store.records("customer"))


def invoice_on(phone: Phone, invoice_id: str) -> Invoice:
    return msgspec.json.decode(phone.store.record("invoice", invoice_id) or b"", type=Invoice)


def archive_account_in_xero(forwarding: Forwarding, code: str) -> None:
    """Someone archives the account in Xero after ledgersync mirrored it as active."""
    with forwarding.sandbox.handle.locked():
        for account in forwarding.xero_org.accounts.values():
            if account["Code"] == code:
                account["Status"] = "ARCHIVED"


def failed_one(counts: dict[str, int]) -> bool:
    return counts["failed"] == 1 and counts["due"] + counts["in_flight"] + counts["retrying"] == 0


async def test_one_refused_invoice_of_a_batch_of_50_fails_alone_and_the_others_reach_xero(
    forwarding: Forwarding, phone: Phone
) -> None:
    [customer, *_] = customers_of(phone)
    invoices = [
        phone.create_invoice(customer, [Line("1", f"{10 + n}.00", tax_type="OUTPUT2", account_code=SALES)])
        for n in range(49)
    ]
    refused = phone.create_invoice(
        customer, [Line("1", "99.00", tax_type="OUTPUT2", account_code=INTEREST_INCOME)]
    )
    archive_account_in_xero(forwarding, INTEREST_INCOME)

    assert {r.status for r in await phone.upload()} == {"applied"}
    await settle(forwarding.admin, failed_one)

    assert len(forwarding.writes("/Invoices")) == 1  # the 50 went in one request
    assert all(len(forwarding.xero_invoices_for(i)) == 1 for i in invoices)
    assert forwarding.xero_invoices_for(refused) == []
    await phone.refresh()
    sync = invoice_on(phone, refused).sync
    assert sync is not None
    assert sync.state == "failed"
    assert sync.message == "Account code '270' is not a valid code for this document."
    assert sync.field == "invoice.lines[0].account_code"
    assert {invoice_on(phone, i).sync.state for i in invoices} == {"in_xero"}  # type: ignore[union-attr]


async def test_a_corrected_upload_of_a_refused_invoice_forwards_it_once(
    forwarding: Forwarding, phone: Phone
) -> None:
    [customer, *_] = customers_of(phone)
    refused = phone.create_invoice(
        customer, [Line("2", "40.00", tax_type="OUTPUT2", account_code=INTEREST_INCOME)]
    )
    archive_account_in_xero(forwarding, INTEREST_INCOME)
    await phone.upload()
    await settle(forwarding.admin, failed_one)

    phone.create_invoice(
        customer, [Line("2", "40.00", tax_type="OUTPUT2", account_code=SALES)], invoice_id=refused
    )
    assert [r.status for r in await phone.upload()] == ["applied"]
    counts = await settle(forwarding.admin)

    assert counts["failed"] == 0
    [xero_invoice] = forwarding.xero_invoices_for(refused)
    assert xero_invoice["LineItems"][0]["AccountCode"] == SALES
    await phone.refresh()
    fixed = invoice_on(phone, refused)
    assert fixed.sync is not None
    assert fixed.sync.state == "in_xero"
    assert fixed.invoice_number == xero_invoice["InvoiceNumber"]


async def test_an_admin_retry_forwards_an_invoice_once_the_cause_is_fixed_in_xero(
    forwarding: Forwarding, phone: Phone
) -> None:
    [customer, *_] = customers_of(phone)
    refused = phone.create_invoice(
        customer, [Line("1", "12.00", tax_type="OUTPUT2", account_code=INTEREST_INCOME)]
    )
    archive_account_in_xero(forwarding, INTEREST_INCOME)
    await phone.upload()
    await settle(forwarding.admin, failed_one)
    [failed] = (await forwarding.admin.get("/admin/api/uploads", params={"state": "failed"})).json()[
        "uploads"
    ]
    assert failed["last_error"] == "Account code '270' is not a valid code for this document."
    with forwarding.sandbox.handle.locked():
        for account in forwarding.xero_org.accounts.values():
            if account["Code"] == INTEREST_INCOME:
                account["Status"] = "ACTIVE"

    retried = await forwarding.admin.post(f"/admin/api/uploads/{failed['id']}/retry")

    assert retried.status_code == 202, retried.text
    counts = await settle(forwarding.admin)
    assert counts["failed"] == 0
    assert len(forwarding.xero_invoices_for(refused)) == 1


async def test_retrying_an_upload_that_did_not_fail_is_refused(forwarding: Forwarding, phone: Phone) -> None:
    [customer, *_] = customers_of(phone)
    phone.create_invoice(customer, [Line("1", "12.00", tax_type="OUTPUT2", account_code=SALES)])
    await phone.upload()
    await settle(forwarding.admin)
    [done] = (await forwarding.admin.get("/admin/api/uploads", params={"state": "done"})).json()["uploads"]

    response = await forwarding.admin.post(f"/admin/api/uploads/{done['id']}/retry")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "upload_not_retryable"


async def test_a_new_customer_whose_name_xero_has_already_fails_with_xeros_message(
    forwarding: Forwarding, phone: Phone
) -> None:
    taken = next(iter(forwarding.xero_org.contacts.values()))["Name"]
    fresh = phone.create_customer("A Name Xero Has Not Seen")
    clash = phone.create_customer(taken)

    await phone.upload()
    await settle(forwarding.admin, failed_one)

    assert len(forwarding.xero_contacts_named("A Name Xero Has Not Seen")) == 1
    await phone.refresh()
    refused = msgspec.json.decode(phone.store.record("customer", clash) or b"", type=Customer)
    assert refused.sync is not None
    assert refused.sync.state == "failed"
    assert "already assigned to another contact" in refused.sync.message
    assert refused.sync.field == "customer.name"
    created = msgspec.json.decode(phone.store.record("customer", fresh) or b"", type=Customer)
    assert created.xero_id is not None
