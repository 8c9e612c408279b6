"""Payments: only against AUTHORISED invoices, never above the amount due, only into payable accounts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from . import invoices
from .errors import ElementInvalid, NotFound
from .records import public, touch
from .store import Organisation, Record, new_id
from .wire import WireError, money, msdate_of_day, parse_day, parse_decimal

_PAYMENT_TYPE = {"ACCREC": "ACCRECPAYMENT", "ACCPAY": "ACCPAYPAYMENT"}


def get(org: Organisation, payment_id: str) -> Record:
    payment = org.payments.get(payment_id.lower())
    if payment is None:
        raise NotFound()
    return payment


def wire(org: Organisation, payment: Record) -> dict[str, Any]:
    out = public(payment)
    invoice = org.invoices[payment["Invoice"]["InvoiceID"]]
    account = org.accounts[payment["Account"]["AccountID"]]
    contact = org.contacts.get(invoice["Contact"]["ContactID"])
    out["Date"] = msdate_of_day(payment["Date"])
    out["Amount"] = money(payment["Amount"])
    out["BankAmount"] = money(payment["Amount"])
    out["Invoice"] = {
        "InvoiceID": invoice["InvoiceID"],
        "InvoiceNumber": invoice["InvoiceNumber"],
        "Type": invoice["Type"],
        "Contact": {"ContactID": invoice["Contact"]["ContactID"], "Name": contact["Name"] if contact else ""},
    }
    out["Account"] = {"AccountID": account["AccountID"], "Code": account["Code"]}
    return out


def _resolve_invoice(org: Organisation, element: Any) -> Record | None:
    if not isinstance(element, dict):
        return None
    if element.get("InvoiceID"):
        return org.invoices.get(str(element["InvoiceID"]).lower())
    if element.get("InvoiceNumber"):
        return invoices.find_by_number(org, str(element["InvoiceNumber"]))
    return None


def _resolve_account(org: Organisation, element: Any) -> Record | None:
    if not isinstance(element, dict):
        return None
    if element.get("AccountID"):
        return org.accounts.get(str(element["AccountID"]).lower())
    if element.get("Code"):
        return org.account_by_code(str(element["Code"]))
    return None


def prepare_create(org: Organisation, element: dict[str, Any], today: date) -> dict[str, Any]:
    errors: list[str] = []
    invoice = _resolve_invoice(org, element.get("Invoice"))
    if invoice is None:
        errors.append(
            "Invoice could not be found."
            if element.get("Invoice")
            else "You must specify an Invoice, CreditNote, Prepayment or Overpayment for the payment."
        )
    account = _resolve_account(org, element.get("Account"))
    if account is None:
        errors.append(
            "Account could not be found."
            if element.get("Account")
            else "You must specify an Account for the payment."
        )
    elif account["Type"] != "BANK" and not account["EnablePaymentsToAccount"]:
        errors.append("Account type is invalid for making a payment to/from")
    amount = Decimal(0)
    try:
        amount = money(parse_decimal(element.get("Amount")))
    except WireError:
        errors.append("Payment amount must be specified.")
    if amount <= 0 and "Payment amount must be specified." not in errors:
        errors.append("Payment amount must be greater than zero.")
    paid_on = today
    try:
        if element.get("Date"):
            paid_on = parse_day(element["Date"])
    except WireError as exc:
        errors.append(str(exc))
    if invoice is not None:
        if invoice["Status"] != "AUTHORISED":
            errors.append("Payments can only be made against Authorised documents.")
        elif amount > invoice["AmountDue"]:
            errors.append("Payment amount exceeds the amount outstanding on this document.")
    if errors:
        raise ElementInvalid(errors)
    assert invoice is not None
    assert account is not None
    return {"element": element, "invoice": invoice, "account": account, "amount": amount, "date": paid_on}


def commit_create(org: Organisation, prepared: dict[str, Any], now: datetime) -> Record:
    invoice: Record = prepared["invoice"]
    payment_id = new_id()
    payment: Record = {
        "PaymentID": payment_id,
        "Date": prepared["date"],
        "Amount": prepared["amount"],
        "Reference": prepared["element"].get("Reference") or "",
        "CurrencyRate": Decimal("1.000000"),
        "PaymentType": _PAYMENT_TYPE[invoice["Type"]],
        "Status": "AUTHORISED",
        "IsReconciled": False,
        "HasAccount": True,
        "HasValidationErrors": False,
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "Account": {"AccountID": prepared["account"]["AccountID"]},
    }
    touch(payment, now)
    org.payments[payment_id] = payment
    invoice["_payments"].append(payment_id)
    invoices.apply_payment(invoice, prepared["amount"], prepared["date"], now)
    return payment


def delete(org: Organisation, payment: Record, element: dict[str, Any], now: datetime) -> Record:
    """Xero deletes a payment by POSTing `{"Status": "DELETED"}` to it; the invoice is owed again."""
    if element.get("Status") != "DELETED":
        raise ElementInvalid(["Status must be DELETED to delete a payment."])
    if payment["Status"] == "DELETED":
        raise ElementInvalid(["This payment has already been deleted."])
    payment["Status"] = "DELETED"
    touch(payment, now)
    invoices.reverse_payment(org.invoices[payment["Invoice"]["InvoiceID"]], payment["Amount"], now)
    return payment
