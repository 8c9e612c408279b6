"""An offline customer, invoice and payment reach Xero in order, as the business configured."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import Invoice, Payment
from sync_protocol.messages import UpsertInvoice
from tests.forwarding.conftest import OTHER_BANK, OTHER_REVENUE, SALES, Forwarding, products_of, settle


async def test_customer_invoice_and_payment_reach_xero_in_order_with_the_right_accounts_and_totals(
    forwarding: Forwarding, phone: Phone
) -> None:
    customer_id = phone.create_customer("Harbour Cafe Ltd", email="accounts@harbour.example")
    [product_id, *_] = products_of(phone)
    invoice_id = phone.create_invoice(
        customer_id,
        [
            Line("3", "19.95", product_id=product_id),  # the product's account (200) and tax
            Line("1", "85.00", description="Call-out", tax_type="OUTPUT2"),  # no account: revenue setting
        ],
    )
    [drafted] = [m.invoice for m in phone.store.pending(10) if isinstance(m, UpsertInvoice)]
    phone.create_payment(invoice_id, drafted.total)  # no account: the bank setting
    results = await phone.upload()  # all three together, made offline
    assert [r.status for r in results] == ["applied", "applied", "applied"]

    await settle(forwarding.admin)

    writes = [(e.method, e.path.rsplit("/", 1)[-1]) for e in forwarding.writes()]
    assert writes == [("PUT", "Contacts"), ("PUT", "Invoices"), ("PUT", "Payments")]
    xero_invoice = forwarding.xero_invoice_for(invoice_id)
    [contact] = forwarding.xero_contacts_named("Harbour Cafe Ltd")
    assert xero_invoice["Contact"]["ContactID"] == contact["ContactID"]
    assert contact["EmailAddress"] == "accounts@harbour.example"
    assert [line["AccountCode"] for line in xero_invoice["LineItems"]] == [SALES, OTHER_REVENUE]
    assert [line["TaxType"] for line in xero_invoice["LineItems"]] == ["OUTPUT2", "OUTPUT2"]
    assert (xero_invoice["SubTotal"], xero_invoice["TotalTax"], xero_invoice["Total"]) == (
        Decimal(drafted.sub_total),
        Decimal(drafted.total_tax),
        Decimal(drafted.total),
    )
    [payment] = forwarding.xero_org.payments.values()
    assert forwarding.account_code(payment["Account"]["AccountID"]) == OTHER_BANK
    assert payment["Amount"] == Decimal(drafted.total)
    assert xero_invoice["Status"] == "PAID"

    await phone.refresh()
    refreshed = msgspec.json.decode(phone.store.record("invoice", invoice_id) or b"", type=Invoice)
    assert refreshed.invoice_number == xero_invoice["InvoiceNumber"]
    assert refreshed.status == "PAID"
    assert refreshed.amount_due == Decimal("0.00")
    assert refreshed.xero_id == xero_invoice["InvoiceID"]
    assert refreshed.sync is not None
    assert refreshed.sync.state == "in_xero"
    [(_, payment_id)] = list(phone.store.records("payment"))
    paid = msgspec.json.decode(phone.store.record("payment", payment_id) or b"", type=Payment)
    assert paid.account_code == OTHER_BANK
    assert paid.xero_id == payment["PaymentID"]


async def test_the_url_on_an_invoice_in_xero_opens_its_page_in_ledgersync_with_its_upload(
    forwarding: Forwarding, phone: Phone
) -> None:
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    invoice_id = phone.create_invoice(customer, [Line("1", "10.00", tax_type="OUTPUT2", account_code=SALES)])
    await phone.upload()
    await settle(forwarding.admin)
    url = forwarding.xero_invoice_for(invoice_id)["Url"]
    [upload] = (await forwarding.admin.get("/admin/api/uploads", params={"state": "done"})).json()["uploads"]

    page = await forwarding.admin.get(url, follow_redirects=True)

    assert page.status_code == 200
    assert f"Invoice {forwarding.xero_invoice_for(invoice_id)['InvoiceNumber']}" in page.text
    assert "11.50" in page.text  # its total, 10.00 and 15% GST
    assert f'href="/admin/uploads/{upload["id"]}"' in page.text


async def test_an_invoice_edited_before_it_reached_xero_is_created_once_then_updated(
    forwarding: Forwarding, phone: Phone
) -> None:
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    invoice_id = phone.create_invoice(customer, [Line("1", "100.00", tax_type="OUTPUT2", account_code=SALES)])
    phone.create_invoice(
        customer, [Line("2", "100.00", tax_type="OUTPUT2", account_code=SALES)], invoice_id=invoice_id
    )
    results = await phone.upload()  # the create and its edit together, made offline
    assert [r.status for r in results] == ["applied", "applied"]

    await settle(forwarding.admin)

    # The edit goes once the create is in Xero, and must update that invoice, not make another.
    assert [e.method for e in forwarding.writes("/Invoices")] == ["PUT", "POST"]
    [xero_invoice] = forwarding.xero_invoices_for(invoice_id)
    assert str(xero_invoice["Total"]) == "230.00"
    await phone.refresh()
    edited = msgspec.json.decode(phone.store.record("invoice", invoice_id) or b"", type=Invoice)
    assert (edited.xero_id, edited.invoice_number) == (
        xero_invoice["InvoiceID"],
        xero_invoice["InvoiceNumber"],
    )
    assert edited.sync is not None
    assert edited.sync.state == "in_xero"
