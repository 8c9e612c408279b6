"""Xero request elements for uploads: what ledgersync writes to Xero for each kind of mutation.

Built from the upload's own mutation (what the phone sent then), the Xero ids of the records it
names and the organisation's settings, so the same item always makes the same element (and the
same Idempotency-Key) until one of those changes.

Every record ledgersync creates in Xero carries its ledgersync id, so a create whose answer was
lost can be found again (``reconcile.py``): contacts in ``ContactNumber`` (Xero's field for an
external system's id), invoices in ``Url`` (the backlink to the record in ledgersync).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync_protocol.entities import Product
from sync_protocol.messages import CustomerDraft, InvoiceDraft, PaymentDraft
from sync_protocol.money import to_decimal

# Xero refuses a line without a description unless it names an item.
_FALLBACK_DESCRIPTION = "Item"


def backlink(base_url: str, invoice_id: str) -> str:
    """The ``Url`` of an invoice in Xero: its page in ledgersync's admin console."""
    return f"{base_url.rstrip('/')}/admin/invoices/{invoice_id}"


def record_id_of_backlink(url: str) -> str | None:
    marker = "/admin/invoices/"
    return url.rsplit(marker, 1)[1] if marker in url else None


def contact_element(draft: CustomerDraft, xero_id: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {"Name": draft.name}
    if xero_id:
        element["ContactID"] = xero_id
    else:
        element["ContactNumber"] = draft.id
    for key, value in (
        ("FirstName", draft.first_name),
        ("LastName", draft.last_name),
        ("EmailAddress", draft.email),
        ("AccountNumber", draft.account_number),
        ("TaxNumber", draft.tax_number),
    ):
        if value:
            element[key] = value
    if draft.phone:
        element["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": draft.phone}]
    if draft.address is not None:
        address = draft.address
        element["Addresses"] = [
            {
                "AddressType": "POBOX",
                "AddressLine1": address.line1,
                "AddressLine2": address.line2,
                "City": address.city,
                "Region": address.region,
                "PostalCode": address.postal_code,
                "Country": address.country,
            }
        ]
    return element


_CONTACT_TEXT = {
    "name": "Name",
    "first_name": "FirstName",
    "last_name": "LastName",
    "email": "EmailAddress",
    "account_number": "AccountNumber",
    "tax_number": "TaxNumber",
}


def contact_changes(xero_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """An edit of a contact in Xero: only the fields in ``values`` (customer field -> new value).

    An empty value clears the field: Xero keeps what a request leaves out, and stores an empty
    string, an empty phone number or an address of empty lines as given.
    """
    element: dict[str, Any] = {"ContactID": xero_id}
    for field, value in values.items():
        if field in _CONTACT_TEXT:
            element[_CONTACT_TEXT[field]] = value
        elif field == "phone":
            element["Phones"] = [
                {"PhoneType": "DEFAULT", "PhoneNumber": value, "PhoneAreaCode": "", "PhoneCountryCode": ""}
            ]
        elif field == "address":
            parts = value or {}
            element["Addresses"] = [
                {
                    "AddressType": "POBOX",
                    "AddressLine1": parts.get("line1", ""),
                    "AddressLine2": parts.get("line2", ""),
                    "City": parts.get("city", ""),
                    "Region": parts.get("region", ""),
                    "PostalCode": parts.get("postal_code", ""),
                    "Country": parts.get("country", ""),
                }
            ]
    return element


@dataclass(frozen=True)
class InvoiceContext:
    """What an invoice element needs besides the draft."""

    contact_xero_id: str
    products: dict[str, Product]
    revenue_account_code: str | None
    default_tax_type: str | None
    status: str  # DRAFT | AUTHORISED, for new invoices
    url: str


class MissingAccount(Exception):
    """A line has no account of its own, its product has none, and no revenue account is set."""

    def __init__(self, line: int) -> None:
        super().__init__(
            "this line has no account and the organisation has no revenue account for invoice "
            "lines: an admin must choose one, then retry"
        )
        self.line = line


def invoice_element(draft: InvoiceDraft, context: InvoiceContext, xero_id: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"ContactID": context.contact_xero_id},
        "Date": draft.date.isoformat(),
        # Xero wants a due date on approved invoices; the phone's, or the invoice date.
        "DueDate": (draft.due_date or draft.date).isoformat(),
        "LineAmountTypes": draft.line_amount_type,
        "Reference": draft.reference,
        "Url": context.url,
        "LineItems": [_line(draft, n, context) for n in range(len(draft.lines))],
    }
    if xero_id:
        element["InvoiceID"] = xero_id  # an edit: the status stays as it is in Xero
    else:
        element["Status"] = context.status
    return element


def _line(draft: InvoiceDraft, index: int, context: InvoiceContext) -> dict[str, Any]:
    line = draft.lines[index]
    product = context.products.get(line.product_id) if line.product_id else None
    account = line.account_code or (product.account_code if product else None) or context.revenue_account_code
    if account is None:
        raise MissingAccount(index)
    element: dict[str, Any] = {
        "Description": line.description or (product.name if product else "") or _FALLBACK_DESCRIPTION,
        "Quantity": to_decimal(line.quantity),
        "UnitAmount": to_decimal(line.unit_amount),
        "AccountCode": account,
    }
    if product is not None:
        element["ItemCode"] = product.code
    tax_type = line.tax_type or (product.tax_type if product else None) or context.default_tax_type
    if draft.line_amount_type != "NoTax" and tax_type:
        element["TaxType"] = tax_type
    if line.discount_rate is not None:
        element["DiscountRate"] = to_decimal(line.discount_rate)
    return element


def void_element(xero_id: str, status_in_xero: str) -> dict[str, Any]:
    # Xero voids approved invoices; one that never left draft is deleted instead.
    status = "DELETED" if status_in_xero in ("DRAFT", "SUBMITTED") else "VOIDED"
    return {"InvoiceID": xero_id, "Status": status}


def payment_element(draft: PaymentDraft, invoice_xero_id: str, account_code: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "Invoice": {"InvoiceID": invoice_xero_id},
        "Account": {"Code": account_code},
        "Date": draft.date.isoformat(),
        "Amount": to_decimal(draft.amount),
    }
    if draft.reference:
        element["Reference"] = draft.reference
    return element
