"""Payments: only against AUTHORISED invoices, never above AmountDue, into payable accounts; deletion."""

from __future__ import annotations

from decimal import Decimal

import httpx

from tests.fixtures.sandbox import RunningSandbox
from tests.sandbox.support import create_invoice, decimal_json, first_contact_id, send, validation_messages
from xero_sandbox.store import Organisation


def _pay(xero: httpx.Client, invoice_id: str, amount: str, account: str = "090") -> httpx.Response:
    return send(
        xero,
        "PUT",
        "/Payments",
        {
            "Payments": [
                {
                    "Invoice": {"InvoiceID": invoice_id},
                    "Account": {"Code": account},
                    "Amount": Decimal(amount),
                    "Date": "2024-03-10",
                }
            ]
        },
    )


def _invoice(xero: httpx.Client, invoice_id: str) -> dict[str, object]:
    invoice: dict[str, object] = decimal_json(xero.get(f"/Invoices/{invoice_id}"))["Invoices"][0]
    return invoice


def test_partial_payment_reduces_amount_due(xero: httpx.Client) -> None:
    invoice = create_invoice(xero, first_contact_id(xero))  # 115.00
    assert _pay(xero, invoice["InvoiceID"], "15.00").status_code == 200
    got = _invoice(xero, invoice["InvoiceID"])
    assert (got["AmountPaid"], got["AmountDue"], got["Status"]) == (
        Decimal("15.00"),
        Decimal("100.00"),
        "AUTHORISED",
    )


def test_full_payment_marks_invoice_paid(xero: httpx.Client) -> None:
    invoice = create_invoice(xero, first_contact_id(xero))
    _pay(xero, invoice["InvoiceID"], "115.00")
    got = _invoice(xero, invoice["InvoiceID"])
    assert (got["Status"], got["AmountDue"]) == ("PAID", Decimal("0.00"))
    assert got["FullyPaidOnDate"] == "/Date(1710028800000+0000)/"
    assert len(got["Payments"]) == 1  # type: ignore[arg-type]


def test_overpayment_is_rejected(xero: httpx.Client) -> None:
    invoice = create_invoice(xero, first_contact_id(xero))
    assert validation_messages(_pay(xero, invoice["InvoiceID"], "115.01")) == [
        "Payment amount exceeds the amount outstanding on this document."
    ]


def test_payment_against_draft_is_rejected(xero: httpx.Client) -> None:
    invoice = create_invoice(xero, first_contact_id(xero), status="DRAFT")
    assert validation_messages(_pay(xero, invoice["InvoiceID"], "1.00")) == [
        "Payments can only be made against Authorised documents."
    ]


def test_payment_into_non_bank_account_is_rejected(xero: httpx.Client) -> None:
    invoice = create_invoice(xero, first_contact_id(xero))
    assert validation_messages(_pay(xero, invoice["InvoiceID"], "1.00", account="200")) == [
        "Account type is invalid for making a payment to/from"
    ]


def test_payment_into_account_with_payments_enabled_is_accepted(xero: httpx.Client) -> None:
    invoice = create_invoice(xero, first_contact_id(xero))
    assert _pay(xero, invoice["InvoiceID"], "1.00", account="855").status_code == 200


def test_single_payment_post_is_accepted(xero: httpx.Client) -> None:
    invoice = create_invoice(xero, first_contact_id(xero))
    response = send(
        xero,
        "POST",
        "/Payments",
        {
            "Invoice": {"InvoiceID": invoice["InvoiceID"]},
            "Account": {"Code": "090"},
            "Amount": Decimal("5.00"),
        },
    )
    assert response.json()["Payments"][0]["Status"] == "AUTHORISED"


def test_deleting_payment_reopens_invoice(xero: httpx.Client) -> None:
    invoice = create_invoice(xero, first_contact_id(xero))
    payment = _pay(xero, invoice["InvoiceID"], "115.00").json()["Payments"][0]
    deleted = xero.post(f"/Payments/{payment['PaymentID']}", json={"Status": "DELETED"})
    assert deleted.json()["Payments"][0]["Status"] == "DELETED"
    got = _invoice(xero, invoice["InvoiceID"])
    assert (got["Status"], got["AmountDue"]) == ("AUTHORISED", Decimal("115.00"))


def test_payments_list_and_get(xero: httpx.Client) -> None:
    invoice = create_invoice(xero, first_contact_id(xero))
    payment = _pay(xero, invoice["InvoiceID"], "10.00").json()["Payments"][0]
    assert [p["PaymentID"] for p in xero.get("/Payments").json()["Payments"]] == [payment["PaymentID"]]
    got = xero.get(f"/Payments/{payment['PaymentID']}").json()["Payments"][0]
    assert got["Invoice"]["InvoiceID"] == invoice["InvoiceID"]
    paged = xero.get("/Payments", params={"page": "1", "pageSize": "10"}).json()
    assert paged["pagination"]["itemCount"] == 1


def test_paid_invoice_cannot_be_modified(xero: httpx.Client) -> None:
    invoice = create_invoice(xero, first_contact_id(xero))
    _pay(xero, invoice["InvoiceID"], "115.00")
    response = xero.post(f"/Invoices/{invoice['InvoiceID']}", json={"Reference": "late"})
    assert validation_messages(response) == ["Invoice not of valid status for modification"]


def test_payments_page_and_if_modified_since_see_deletions(
    sandbox: RunningSandbox, xero: httpx.Client
) -> None:
    """As Xero: ``page``/``pageSize``, If-Modified-Since, ``where`` on PaymentType; a deleted payment is
    still listed (``DELETED``, its UpdatedDateUTC moved), so an incremental reader sees the deletion."""
    invoice = create_invoice(xero, first_contact_id(xero))
    first, second, third = (
        _pay(xero, invoice["InvoiceID"], amount).json()["Payments"][0] for amount in ("1.00", "2.00", "3.00")
    )
    paged = xero.get("/Payments", params={"page": "2", "pageSize": "2"}).json()
    assert paged["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 2, "itemCount": 3}
    assert [p["PaymentID"] for p in paged["Payments"]] == [third["PaymentID"]]
    sandbox.handle.advance(10)
    moment = sandbox.handle.now().isoformat()
    sandbox.handle.advance(10)
    xero.post(f"/Payments/{first['PaymentID']}", json={"Status": "DELETED"})

    recent = xero.get(
        "/Payments", params={"where": 'PaymentType=="ACCRECPAYMENT"'}, headers={"If-Modified-Since": moment}
    ).json()["Payments"]

    assert [(p["PaymentID"], p["Status"]) for p in recent] == [(first["PaymentID"], "DELETED")]
    assert xero.get("/Payments", params={"where": 'PaymentType=="ACCPAYPAYMENT"'}).json()["Payments"] == []
    assert second["Status"] == "AUTHORISED"


def test_a_user_voiding_a_paid_invoice_removes_its_payments_first(
    sandbox: RunningSandbox, xero: httpx.Client, xero_org: Organisation
) -> None:
    invoice = create_invoice(xero, first_contact_id(xero))
    payment = _pay(xero, invoice["InvoiceID"], "115.00").json()["Payments"][0]
    control = sandbox.control()
    refused = control.post(f"/organisations/{xero_org.tenant_id}/invoices/{invoice['InvoiceID']}/void")
    assert refused.status_code == 400  # Xero voids no invoice with payments applied

    voided = control.post(
        f"/organisations/{xero_org.tenant_id}/invoices/{invoice['InvoiceID']}/void",
        params={"remove_payments": "true"},
    )

    assert voided.status_code == 200, voided.text
    assert voided.json()["Status"] == "VOIDED"
    assert xero.get(f"/Payments/{payment['PaymentID']}").json()["Payments"][0]["Status"] == "DELETED"


def test_a_user_removes_a_payment(
    sandbox: RunningSandbox, xero: httpx.Client, xero_org: Organisation
) -> None:
    invoice = create_invoice(xero, first_contact_id(xero))
    payment = _pay(xero, invoice["InvoiceID"], "15.00").json()["Payments"][0]

    removed = sandbox.control().post(
        f"/organisations/{xero_org.tenant_id}/payments/{payment['PaymentID']}/delete"
    )

    assert removed.status_code == 200, removed.text
    assert removed.json()["Status"] == "DELETED"
    assert _invoice(xero, invoice["InvoiceID"])["AmountDue"] == Decimal("115.00")
