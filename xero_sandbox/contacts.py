"""Contacts: unique names among active contacts, ARCHIVED/GDPRREQUEST hidden unless includeArchived."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .errors import ElementInvalid, NotFound
from .records import EMAIL, copy_fields, is_guid, public, text, touch
from .store import Organisation, Record, new_id

# Fields a client may write and Xero stores as given.
_WRITABLE = (
    "ContactNumber",
    "AccountNumber",
    "FirstName",
    "LastName",
    "CompanyNumber",
    "EmailAddress",
    "ContactPersons",
    "BankAccountDetails",
    "TaxNumber",
    "AccountsReceivableTaxType",
    "AccountsPayableTaxType",
    "Addresses",
    "Phones",
    "IsSupplier",
    "IsCustomer",
    "DefaultCurrency",
    "SalesDefaultAccountCode",
    "PurchasesDefaultAccountCode",
    "PaymentTerms",
    "XeroNetworkKey",
    "SalesDefaultLineAmountType",
    "PurchasesDefaultLineAmountType",
)
STATUSES = ("ACTIVE", "ARCHIVED", "GDPRREQUEST")


def wire(contact: Record) -> dict[str, Any]:
    return public(contact)


def visible(contact: Record, include_archived: bool) -> bool:
    return include_archived or contact["ContactStatus"] == "ACTIVE"


def find(org: Organisation, element: dict[str, Any]) -> Record | None:
    """The contact an element refers to: by ContactID, else (as Xero does) by exact name."""
    contact_id = element.get("ContactID")
    if contact_id:
        return org.contacts.get(str(contact_id).lower())
    name = element.get("Name")
    if isinstance(name, str):
        found = org.active_contact_names.get(_name_key(name))
        return org.contacts.get(found) if found else None
    return None


def get(org: Organisation, contact_id: str) -> Record:
    contact = org.contacts.get(contact_id.lower())
    if contact is None:
        raise NotFound()
    return contact


def _name_key(name: str) -> str:
    return " ".join(name.split()).lower()


def duplicate_name_message(name: str) -> str:
    return (
        f"The contact name {name} is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )


TERM_TYPES = ("DAYSAFTERBILLDATE", "DAYSAFTERBILLMONTH", "OFCURRENTMONTH", "OFFOLLOWINGMONTH")
_TERM_SIDES = {"Bills": "Bills", "Sales": "Sales Invoices"}


def payment_terms_errors(terms: Any) -> list[str]:
    """Xero's checks of ``PaymentTerms`` (Contact and Organisation): each side's Day and Type. The
    month-day message is Xero's as reported; the others are the sandbox's wording."""
    if terms is None:
        return []
    if not isinstance(terms, dict):
        return ["PaymentTerms must be an object."]
    errors: list[str] = []
    for side, said in _TERM_SIDES.items():
        bill = terms.get(side)
        if bill is None:
            continue
        if not isinstance(bill, dict) or bill.get("Type") not in TERM_TYPES:
            errors.append(f"The payment term type for {said} is not valid.")
            continue
        day = bill.get("Day")
        if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 31:
            errors.append(f"Due Date for {said} must be a whole number of days.")
        elif bill["Type"] in ("OFCURRENTMONTH", "OFFOLLOWINGMONTH") and day < 1:
            errors.append(
                f"Due Date for {said} must be between 1 and 31 when set to the following (or current) month."
            )
    return errors


def _check(org: Organisation, element: dict[str, Any], contact_id: str | None, status: str) -> list[str]:
    errors: list[str] = payment_terms_errors(element.get("PaymentTerms"))
    name = text(element, "Name", 255)
    if name is not None and status == "ACTIVE":
        owner = org.active_contact_names.get(_name_key(name))
        if owner is not None and owner != contact_id:
            errors.append(
                f"The contact name {name} is already assigned to another contact. "
                "The contact name must be unique across all active contacts."
            )
    email = element.get("EmailAddress")
    if email not in (None, "") and (not isinstance(email, str) or not EMAIL.match(email)):
        errors.append("Email address must be valid.")
    for key in ("AccountsReceivableTaxType", "AccountsPayableTaxType"):
        tax_type = element.get(key)
        if tax_type and tax_type not in org.tax_rates:
            errors.append(
                f"The TaxType code '{tax_type}' does not exist or cannot be used for this type "
                "of transaction."
            )
    return errors


def prepare_create(org: Organisation, element: dict[str, Any]) -> dict[str, Any]:
    """Validate a new contact; returns what ``commit_create`` needs. Raises ElementInvalid."""
    name = element.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise ElementInvalid(["The contact name must be specified."])
    status = element.get("ContactStatus") or "ACTIVE"
    if status not in STATUSES:
        raise ElementInvalid([f"ContactStatus '{status}' is not valid."])
    errors = _check(org, element, None, status)
    if errors:
        raise ElementInvalid(errors)
    return {"element": element, "status": status}


def commit_create(org: Organisation, prepared: dict[str, Any], now: datetime) -> Record:
    element = prepared["element"]
    contact_id = new_id()
    contact: Record = {
        "ContactID": contact_id,
        "ContactStatus": prepared["status"],
        "Name": element["Name"].strip(),
        "FirstName": "",
        "LastName": "",
        "EmailAddress": "",
        "BankAccountDetails": "",
        "Addresses": [],
        "Phones": [],
        "ContactGroups": [],
        "ContactPersons": [],
        "IsSupplier": False,
        "IsCustomer": False,
        "HasAttachments": False,
        "HasValidationErrors": False,
    }
    copy_fields(contact, element, _WRITABLE)
    touch(contact, now)
    org.contacts[contact_id] = contact
    _index(org, contact)
    return contact


def prepare_update(org: Organisation, contact: Record, element: dict[str, Any]) -> dict[str, Any]:
    status = element.get("ContactStatus") or contact["ContactStatus"]
    if status not in STATUSES:
        raise ElementInvalid([f"ContactStatus '{status}' is not valid."])
    name = element.get("Name", contact["Name"])
    errors = _check(org, {**element, "Name": name}, contact["ContactID"], status)
    if errors:
        raise ElementInvalid(errors)
    return {"element": element, "status": status, "contact": contact}


def commit_update(org: Organisation, prepared: dict[str, Any], now: datetime) -> Record:
    contact: Record = prepared["contact"]
    element = prepared["element"]
    _unindex(org, contact)
    copy_fields(contact, element, _WRITABLE)
    if isinstance(element.get("Name"), str) and element["Name"].strip():
        contact["Name"] = element["Name"].strip()
    contact["ContactStatus"] = prepared["status"]
    touch(contact, now)
    _index(org, contact)
    return contact


def mark_customer(contact: Record, now: datetime) -> None:
    """A contact's first sales invoice makes it a customer."""
    if not contact["IsCustomer"]:
        contact["IsCustomer"] = True
        touch(contact, now)


def _index(org: Organisation, contact: Record) -> None:
    if contact["ContactStatus"] == "ACTIVE":
        org.active_contact_names[_name_key(contact["Name"])] = contact["ContactID"]


def _unindex(org: Organisation, contact: Record) -> None:
    key = _name_key(contact["Name"])
    if org.active_contact_names.get(key) == contact["ContactID"]:
        del org.active_contact_names[key]


def reference_for_invoice(org: Organisation, element: Any) -> Record | None:
    """Resolve an invoice's Contact element (ContactID or Name); None when it names nothing."""
    if not isinstance(element, dict):
        return None
    if element.get("ContactID") and not is_guid(element["ContactID"]):
        return None
    return find(org, element)
