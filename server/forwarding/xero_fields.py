"""Which field of an upload a Xero validation message is about, so phones can point at it.

Xero's messages name values, not JSON paths ("Account code '999' is not a valid code for this
document."); the mutation the phone sent tells which line holds that value.
"""

from __future__ import annotations

import re

from sync_protocol.messages import AnyMutation, CreatePayment, UpsertCustomer, UpsertInvoice

_QUOTED = re.compile(r"'([^']*)'")


def field_of(mutation: AnyMutation, message: str) -> str:
    """A path into the mutation (``invoice.lines[2].account_code``), or "" when unknown."""
    lowered = message.lower()
    if isinstance(mutation, UpsertCustomer):
        return _customer_field(lowered)
    if isinstance(mutation, UpsertInvoice):
        return _invoice_field(mutation, message, lowered)
    if isinstance(mutation, CreatePayment):
        return _payment_field(lowered)
    return ""


def _customer_field(lowered: str) -> str:
    if "email" in lowered:
        return "customer.email"
    if "contact name" in lowered or "name" in lowered:
        return "customer.name"
    if "account number" in lowered:
        return "customer.account_number"
    return ""


def _invoice_field(mutation: UpsertInvoice, message: str, lowered: str) -> str:
    quoted = _QUOTED.search(message)
    value = quoted.group(1) if quoted else None
    lines = mutation.invoice.lines
    if "account code" in lowered:
        for n, line in enumerate(lines):
            if value is not None and line.account_code == value:
                return f"invoice.lines[{n}].account_code"
        return "invoice.lines[].account_code"
    if "taxtype" in lowered or "tax type" in lowered:
        for n, line in enumerate(lines):
            if value is not None and line.tax_type == value:
                return f"invoice.lines[{n}].tax_type"
        return "invoice.lines[].tax_type"
    if "item code" in lowered:
        return "invoice.lines[].product_id"
    if "contact" in lowered:
        return "invoice.customer_id"
    if "status" in lowered or "payment" in lowered:
        return "invoice.id"
    if "date" in lowered:
        return "invoice.due_date" if "due" in lowered else "invoice.date"
    return ""


def _payment_field(lowered: str) -> str:
    if "amount" in lowered:
        return "payment.amount"
    if "account" in lowered:
        return "payment.account_code"
    if "invoice" in lowered or "authorised" in lowered or "document" in lowered:
        return "payment.invoice_id"
    return ""
