"""Invoices: numbering, per-line tax, totals, status rules, AmountDue/AmountPaid."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

from . import contacts, tracking
from .errors import ElementInvalid, NotFound
from .money import LineAmountType, TaxRounding, line_amount, line_tax, round_money, totals
from .records import is_guid, public, text, touch
from .store import Organisation, Record, new_id
from .wire import (
    FOUR_DP,
    WireError,
    iso_day,
    money,
    msdate,
    msdate_of_day,
    parse_day,
    parse_decimal,
    unit_amount,
)

TYPES = ("ACCREC", "ACCPAY")
_AMOUNT_TYPES: dict[str, LineAmountType] = {
    "exclusive": "Exclusive",
    "inclusive": "Inclusive",
    "notax": "NoTax",
}
_CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
# Which status an invoice may move to from which (Xero's workflow).
_TRANSITIONS = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
    "PAID": set(),
    "VOIDED": set(),
    "DELETED": set(),
}
DUPLICATE_NUMBER = "Invoice # must be unique."
TAX_MESSAGE = "The TaxType code '{}' does not exist or cannot be used for this type of transaction."


def get(org: Organisation, invoice_id: str) -> Record:
    invoice = org.invoices.get(invoice_id.lower())
    if invoice is None:
        raise NotFound()
    return invoice


def find(org: Organisation, element: dict[str, Any]) -> Record | None:
    """By InvoiceID, else InvoiceNumber (Xero's POST /Invoices updates an invoice matched either way)."""
    if element.get("InvoiceID"):
        return org.invoices.get(str(element["InvoiceID"]).lower())
    number = element.get("InvoiceNumber")
    if isinstance(number, str):
        return find_by_number(org, number)
    return None


def find_by_number(org: Organisation, number: str) -> Record | None:
    for invoice in org.invoices.values():
        if invoice["InvoiceNumber"] == number and invoice["Status"] != "DELETED":
            return invoice
    return None


def wire(org: Organisation, invoice: Record, unitdp: int) -> dict[str, Any]:
    out = public(invoice)
    contact = org.contacts.get(invoice["Contact"]["ContactID"])
    out["Contact"] = {
        "ContactID": invoice["Contact"]["ContactID"],
        "Name": contact["Name"] if contact else "",
        "ContactStatus": contact["ContactStatus"] if contact else "ACTIVE",
    }
    out["Date"] = msdate_of_day(invoice["Date"])
    out["DateString"] = iso_day(invoice["Date"])
    if invoice.get("DueDate") is not None:
        out["DueDate"] = msdate_of_day(invoice["DueDate"])
        out["DueDateString"] = iso_day(invoice["DueDate"])
    else:
        out.pop("DueDate", None)
    if invoice.get("FullyPaidOnDate") is not None:
        out["FullyPaidOnDate"] = msdate_of_day(invoice["FullyPaidOnDate"])
    for key in (
        "SubTotal",
        "TotalTax",
        "Total",
        "AmountDue",
        "AmountPaid",
        "AmountCredited",
        "TotalDiscount",
    ):
        out[key] = money(invoice[key])
    out["LineItems"] = [_line_wire(line, unitdp) for line in invoice["LineItems"]]
    out["Payments"] = [
        _payment_summary(org.payments[pid])
        for pid in invoice["_payments"]
        if org.payments[pid]["Status"] != "DELETED"
    ]
    out["UpdatedDateUTC"] = msdate(invoice["_updated"])
    return out


def _line_wire(line: Record, unitdp: int) -> dict[str, Any]:
    out = dict(line)
    out["Quantity"] = line["Quantity"].quantize(FOUR_DP)
    out["UnitAmount"] = unit_amount(line["UnitAmount"], unitdp)
    for key in ("LineAmount", "TaxAmount"):
        out[key] = money(line[key])
    if line.get("DiscountRate") is not None:
        out["DiscountRate"] = line["DiscountRate"].quantize(Decimal("0.01"))
    return out


def _payment_summary(payment: Record) -> dict[str, Any]:
    return {
        "PaymentID": payment["PaymentID"],
        "Date": msdate_of_day(payment["Date"]),
        "Amount": money(payment["Amount"]),
        "Reference": payment.get("Reference", ""),
        "CurrencyRate": payment["CurrencyRate"],
        "HasAccount": True,
        "HasValidationErrors": False,
    }


def _amount_type(value: Any, errors: list[str]) -> LineAmountType:
    if value is None:
        return "Exclusive"
    found = _AMOUNT_TYPES.get(str(value).lower())
    if found is None:
        errors.append(f"LineAmountTypes '{value}' is not valid.")
        return "Exclusive"
    return found


def _decimal(line: dict[str, Any], key: str, default: Decimal | None, errors: list[str]) -> Decimal | None:
    value = line.get(key)
    if value is None:
        return default
    try:
        return parse_decimal(value)
    except WireError:
        errors.append(f"{key} must be a number.")
        return default


def _lines(
    org: Organisation, given: Any, amount_type: LineAmountType, unitdp: int, status: str, errors: list[str]
) -> list[Record]:
    if given is None:
        given = []
    if not isinstance(given, list):
        errors.append("LineItems must be a list.")
        return []
    lines: list[Record] = []
    for raw in given:
        if not isinstance(raw, dict):
            errors.append("Each line item must be an object.")
            continue
        lines.append(_line(org, raw, amount_type, unitdp, status, errors))
    if status in ("SUBMITTED", "AUTHORISED") and not lines:
        errors.append("Invoice must have at least one line item.")
    return lines


def _line(
    org: Organisation,
    raw: dict[str, Any],
    amount_type: LineAmountType,
    unitdp: int,
    status: str,
    errors: list[str],
) -> Record:
    item = None
    item_code = raw.get("ItemCode")
    if item_code:
        item = org.item_by_code(str(item_code))
        if item is None:
            errors.append(f"Item code '{item_code}' is not valid.")
    sales = (item or {}).get("SalesDetails") or {}
    description = raw.get("Description") or (item or {}).get("Description") or (item or {}).get("Name")
    quantity = _decimal(raw, "Quantity", Decimal(1), errors) or Decimal(0)
    unit = _decimal(raw, "UnitAmount", sales.get("UnitPrice", Decimal(0)), errors) or Decimal(0)
    discount = _decimal(raw, "DiscountRate", None, errors)
    # Without unitdp=4 Xero keeps unit amounts to 2 dp.
    unit = unit_amount(unit, unitdp)
    quantity = quantity.quantize(FOUR_DP, rounding=ROUND_HALF_UP)
    account_code = raw.get("AccountCode") or sales.get("AccountCode")
    account = None
    if account_code:
        account = org.account_by_code(str(account_code))
        if account is None or account["Status"] != "ACTIVE":
            errors.append(f"Account code '{account_code}' is not a valid code for this document.")
            account = None
    elif status in ("SUBMITTED", "AUTHORISED"):
        errors.append("Account code must be specified.")
    if not description and not item_code:
        errors.append("The description field is mandatory for each line item.")
    tax_type = raw.get("TaxType") or sales.get("TaxType") or (account or {}).get("TaxType")
    rate = Decimal(0)
    if amount_type == "NoTax":
        tax_type = tax_type or "NONE"
    if tax_type and amount_type != "NoTax":
        tax_rate = org.tax_rates.get(str(tax_type))
        if tax_rate is None or tax_rate["Status"] != "ACTIVE" or not tax_rate["CanApplyToRevenue"]:
            errors.append(TAX_MESSAGE.format(tax_type))
        else:
            rate = tax_rate["EffectiveRate"]
    amount = line_amount(quantity, unit, discount or Decimal(0))
    given_tax = _decimal(raw, "TaxAmount", None, errors) if amount_type != "NoTax" else None
    if not org.keep_given_tax:
        given_tax = None
    rounding: TaxRounding = "half_even" if org.tax_rounding == "half_even" else "half_up"
    # A line's own TaxAmount overrides the computed one (the spec's LineItem.TaxAmount).
    tax = round_money(given_tax) if given_tax is not None else line_tax(amount, rate, amount_type, rounding)
    line: Record = {
        "LineItemID": str(raw["LineItemID"]) if is_guid(raw.get("LineItemID")) else new_id(),
        "Description": description or "",
        "Quantity": quantity,
        "UnitAmount": unit,
        "AccountCode": account_code or "",
        "TaxType": tax_type or "",
        "TaxAmount": tax,
        "LineAmount": amount,
        "Tracking": tracking.line_tracking(org, raw.get("Tracking"), errors),
    }
    if item_code:
        line["ItemCode"] = item_code
    if discount is not None:
        line["DiscountRate"] = discount
    return line


def _dates(element: dict[str, Any], errors: list[str], today: date) -> tuple[date, date | None]:
    day = today
    due: date | None = None
    try:
        if element.get("Date"):
            day = parse_day(element["Date"])
        if element.get("DueDate"):
            due = parse_day(element["DueDate"])
    except WireError as exc:
        errors.append(str(exc))
    return day, due


URL_MESSAGE = "Url must be a valid absolute URL."


def _check_url(element: dict[str, Any], errors: list[str]) -> None:
    """Xero validates Url (the "Go to <app>" link): an absolute http(s) URL with a host, no spaces.
    The exact rule and wording are the sandbox's best guess of Xero's (reported, not documented)."""
    url = element.get("Url")
    if url in (None, ""):
        return
    if not isinstance(url, str) or len(url) > 2000 or any(c.isspace() for c in url):
        errors.append(URL_MESSAGE)
        return
    try:
        parsed = urlsplit(url)
        valid = parsed.scheme.lower() in ("http", "https") and bool(parsed.hostname)
    except ValueError:
        valid = False
    if not valid:
        errors.append(URL_MESSAGE)


def prepare_create(org: Organisation, element: dict[str, Any], unitdp: int, today: date) -> dict[str, Any]:
    errors: list[str] = []
    _check_url(element, errors)
    invoice_type = element.get("Type")
    if invoice_type not in TYPES:
        errors.append(
            "Invoice Type must be specified."
            if not invoice_type
            else f"Invoice Type '{invoice_type}' is not valid."
        )
    contact_element = element.get("Contact")
    contact = contacts.reference_for_invoice(org, contact_element)
    new_contact_name = None
    if contact is None:
        name = contact_element.get("Name") if isinstance(contact_element, dict) else None
        if isinstance(contact_element, dict) and not contact_element.get("ContactID") and name:
            new_contact_name = name  # Xero creates a contact from a name it does not know
        elif isinstance(contact_element, dict) and contact_element.get("ContactID"):
            errors.append(f"The contact with ContactID '{contact_element['ContactID']}' could not be found.")
        else:
            errors.append("A Contact must be specified for this type of transaction.")
    status = element.get("Status") or "DRAFT"
    if status not in _CREATE_STATUSES:
        errors.append(f"Invoice status '{status}' is not valid for a new invoice.")
    amount_type = _amount_type(element.get("LineAmountTypes"), errors)
    lines = _lines(org, element.get("LineItems"), amount_type, unitdp, status, errors)
    day, due = _dates(element, errors, today)
    number = None
    try:
        number = text(element, "InvoiceNumber", 255)
        text(element, "Reference", 255)
    except ElementInvalid as exc:
        errors.extend(exc.messages)
    if number and find_by_number(org, number) is not None:
        errors.append(DUPLICATE_NUMBER)
    currency = element.get("CurrencyCode") or org.info["BaseCurrency"]
    if currency != org.info["BaseCurrency"]:
        errors.append(f"The currency '{currency}' is not enabled for this organisation.")
    theme = tracking.invoice_theme(org, element.get("BrandingThemeID"), errors)
    if errors:
        raise ElementInvalid(errors)
    return {
        "element": element,
        "theme": theme,
        "contact": contact,
        "new_contact_name": new_contact_name,
        "status": status,
        "amount_type": amount_type,
        "lines": lines,
        "date": day,
        "due": due,
        "number": number,
    }


def commit_create(org: Organisation, prepared: dict[str, Any], now: datetime) -> Record:
    element = prepared["element"]
    contact = prepared["contact"]
    if contact is None:
        contact = contacts.commit_create(
            org, contacts.prepare_create(org, {"Name": prepared["new_contact_name"]}), now
        )
    number = prepared["number"] or _next_number(org)
    invoice_id = new_id()
    invoice: Record = {
        "Type": element["Type"],
        "InvoiceID": invoice_id,
        "InvoiceNumber": number,
        "Reference": element.get("Reference") or "",
        "Contact": {"ContactID": contact["ContactID"]},
        "Date": prepared["date"],
        "DueDate": prepared["due"],
        "Status": prepared["status"],
        "LineAmountTypes": prepared["amount_type"],
        "CurrencyCode": org.info["BaseCurrency"],
        "CurrencyRate": Decimal("1.000000"),
        "SentToContact": False,
        "IsDiscounted": False,
        "HasAttachments": False,
        "HasErrors": False,
        "CreditNotes": [],
        "Prepayments": [],
        "Overpayments": [],
        "AmountCredited": Decimal(0),
        "AmountPaid": Decimal(0),
        "TotalDiscount": Decimal(0),
        "_payments": [],
    }
    if element.get("Url"):
        invoice["Url"] = element["Url"]
    if prepared["theme"] is not None:
        invoice["BrandingThemeID"] = prepared["theme"]
    _apply_lines(invoice, prepared["lines"])
    touch(invoice, now)
    org.invoices[invoice_id] = invoice
    if invoice["Type"] == "ACCREC":
        contacts.mark_customer(contact, now)
    return invoice


def _next_number(org: Organisation) -> str:
    while True:
        number = org.claim_invoice_number()
        if find_by_number(org, number) is None:
            return number


def _apply_lines(invoice: Record, lines: list[Record]) -> None:
    invoice["LineItems"] = lines
    result = totals(((line["LineAmount"], line["TaxAmount"]) for line in lines), invoice["LineAmountTypes"])
    invoice["SubTotal"] = result.sub_total
    invoice["TotalTax"] = result.total_tax
    invoice["Total"] = result.total
    invoice["AmountDue"] = result.total - invoice["AmountPaid"] - invoice["AmountCredited"]


def prepare_update(
    org: Organisation, invoice: Record, element: dict[str, Any], unitdp: int
) -> dict[str, Any]:
    errors: list[str] = []
    status = element.get("Status") or invoice["Status"]
    _check_url(element, errors)
    if status not in _TRANSITIONS[invoice["Status"]]:
        # Xero's one answer to any change a status does not allow (e.g. AUTHORISED -> DELETED, or any
        # change to a PAID or VOIDED invoice).
        raise ElementInvalid(["Invoice not of valid status for modification"])
    if status == "VOIDED" and invoice["AmountPaid"] > 0:
        errors.append("Invoice has payments applied and cannot be voided. Remove the payments first.")
    amount_type = _amount_type(element.get("LineAmountTypes", invoice["LineAmountTypes"]), errors)
    lines = None
    if "LineItems" in element or "LineAmountTypes" in element:
        given = element.get("LineItems")
        if given is None:
            given = [_line_as_element(line) for line in invoice["LineItems"]]
        lines = _lines(org, given, amount_type, unitdp, status, errors)
        if invoice["AmountPaid"] > 0:
            errors.append(
                "This document cannot be edited as it has a payment or credit note allocated to it."
            )
    contact = None
    if isinstance(element.get("Contact"), dict):
        contact = contacts.reference_for_invoice(org, element["Contact"])
        if contact is None:
            errors.append("A Contact must be specified for this type of transaction.")
    day, due = _dates(
        {"Date": element.get("Date"), "DueDate": element.get("DueDate")}, errors, invoice["Date"]
    )
    number = element.get("InvoiceNumber")
    if number and number != invoice["InvoiceNumber"]:
        other = find_by_number(org, number)
        if other is not None and other is not invoice:
            errors.append(DUPLICATE_NUMBER)
    theme = (
        tracking.invoice_theme(org, element["BrandingThemeID"], errors)
        if element.get("BrandingThemeID")
        else None
    )
    if errors:
        raise ElementInvalid(errors)
    return {
        "invoice": invoice,
        "theme": theme,
        "element": element,
        "status": status,
        "amount_type": amount_type,
        "lines": lines,
        "contact": contact,
        "date": day if element.get("Date") else None,
        "due": due if element.get("DueDate") else None,
    }


def _line_as_element(line: Record) -> dict[str, Any]:
    return {key: value for key, value in line.items() if key not in ("TaxAmount", "LineAmount")}


def commit_update(org: Organisation, prepared: dict[str, Any], now: datetime) -> Record:
    invoice: Record = prepared["invoice"]
    element = prepared["element"]
    for key in ("Reference", "Url", "InvoiceNumber"):
        if key in element and element[key] is not None:
            invoice[key] = element[key]
    if prepared["contact"] is not None:
        invoice["Contact"] = {"ContactID": prepared["contact"]["ContactID"]}
    if prepared["date"] is not None:
        invoice["Date"] = prepared["date"]
    if prepared["due"] is not None:
        invoice["DueDate"] = prepared["due"]
    if prepared["theme"] is not None:
        invoice["BrandingThemeID"] = prepared["theme"]
    invoice["LineAmountTypes"] = prepared["amount_type"]
    if prepared["lines"] is not None:
        _apply_lines(invoice, prepared["lines"])
    invoice["Status"] = prepared["status"]
    if invoice["Status"] == "VOIDED":
        invoice["AmountDue"] = Decimal(0)
    touch(invoice, now)
    if invoice["Type"] == "ACCREC" and invoice["Status"] == "AUTHORISED":
        contact = org.contacts.get(invoice["Contact"]["ContactID"])
        if contact is not None:
            contacts.mark_customer(contact, now)
    return invoice


def apply_payment(invoice: Record, amount: Decimal, paid_on: date, now: datetime) -> None:
    """Record a payment's effect; the invoice is PAID once nothing is due."""
    invoice["AmountPaid"] += amount
    invoice["AmountDue"] -= amount
    if invoice["AmountDue"] == 0:
        invoice["Status"] = "PAID"
        invoice["FullyPaidOnDate"] = paid_on
    touch(invoice, now)


def reverse_payment(invoice: Record, amount: Decimal, now: datetime) -> None:
    invoice["AmountPaid"] -= amount
    invoice["AmountDue"] += amount
    if invoice["Status"] == "PAID":
        invoice["Status"] = "AUTHORISED"
        invoice.pop("FullyPaidOnDate", None)
    touch(invoice, now)


# --- online invoices and emails ---------------------------------------------------------------------
# Xero's words. An online invoice and an email exist only for an approved sales invoice.
NOT_ONLINE = "Online invoices are only available for approved sales invoices."
NOT_EMAILABLE = "Invoice not of valid status for sending by email"
NO_EMAIL_ADDRESS = "The contact does not have a valid email address."
EMAIL_LIMIT = "The daily limit of invoice emails for this organisation has been reached."
_EMAILABLE = ("SUBMITTED", "AUTHORISED", "PAID")


def online_invoice_url(invoice: Record) -> str:
    """The customer's link to the invoice (Xero's in.xero.com), stable for the invoice."""
    if invoice["Type"] != "ACCREC" or invoice["Status"] not in ("AUTHORISED", "PAID"):
        raise ElementInvalid([NOT_ONLINE])
    return f"https://in.xero.com/{invoice['InvoiceID'].replace('-', '')}"


def email(org: Organisation, invoice: Record, now: datetime) -> Record:
    """Send the invoice to its contact's address, as Xero does, or refuse as Xero does.

    What would have been sent is kept in ``org.emails`` (and the ledger entry of the call names it);
    the invoice is marked ``SentToContact``, as Xero marks an invoice it emailed.
    """
    if invoice["Type"] != "ACCREC" or invoice["Status"] not in _EMAILABLE:
        raise ElementInvalid([NOT_EMAILABLE])
    contact = org.contacts.get(invoice["Contact"]["ContactID"])
    address = (contact or {}).get("EmailAddress") or ""
    if not address:
        raise ElementInvalid([NO_EMAIL_ADDRESS])
    day_ago = now.timestamp() - 86400
    if sum(1 for sent in org.emails if sent["At"].timestamp() > day_ago) >= org.emails_per_day:
        raise ElementInvalid([EMAIL_LIMIT])
    sent: Record = {
        "InvoiceID": invoice["InvoiceID"],
        "InvoiceNumber": invoice["InvoiceNumber"],
        "To": address,
        "At": now,
    }
    org.emails.append(sent)
    invoice["SentToContact"] = True
    touch(invoice, now)
    return sent
