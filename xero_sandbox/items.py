"""Items: unique Code (max 30), prices with 2 or 4 dp, deleted items simply vanish."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .errors import ElementInvalid, NotFound
from .records import copy_fields, public, text, touch
from .store import Organisation, Record, new_id
from .wire import WireError, parse_decimal, unit_amount

_WRITABLE = (
    "Name",
    "Description",
    "PurchaseDescription",
    "IsSold",
    "IsPurchased",
    "InventoryAssetAccountCode",
)
_DETAILS = ("SalesDetails", "PurchaseDetails")


def wire(item: Record, unitdp: int) -> dict[str, Any]:
    out = public(item)
    for key in _DETAILS:
        details = item.get(key)
        if details is not None:
            out[key] = dict(details)
            if "UnitPrice" in details:
                out[key]["UnitPrice"] = unit_amount(details["UnitPrice"], unitdp)
    return out


def get(org: Organisation, item_id: str) -> Record:
    item = org.items.get(item_id.lower())
    if item is None:
        raise NotFound()
    return item


def find(org: Organisation, element: dict[str, Any]) -> Record | None:
    """Xero's PUT/POST /Items match an existing item by ItemID, else by Code."""
    if element.get("ItemID"):
        return org.items.get(str(element["ItemID"]).lower())
    code = element.get("Code")
    return org.item_by_code(code) if isinstance(code, str) else None


def _details(org: Organisation, element: dict[str, Any], unitdp: int) -> tuple[dict[str, Any], list[str]]:
    out: dict[str, Any] = {}
    errors: list[str] = []
    for key in _DETAILS:
        given = element.get(key)
        if given is None:
            continue
        if not isinstance(given, dict):
            errors.append(f"{key} must be an object.")
            continue
        details = dict(given)
        if details.get("UnitPrice") is not None:
            try:
                details["UnitPrice"] = unit_amount(parse_decimal(details["UnitPrice"]), unitdp)
            except WireError as exc:
                errors.append(str(exc))
        code = details.get("AccountCode")
        if code and org.account_by_code(code) is None:
            errors.append(f"Account code '{code}' is not a valid code for this document.")
        tax_type = details.get("TaxType")
        # As on invoice lines: a rate Xero has archived or deleted cannot be used any more.
        rate = org.tax_rates.get(str(tax_type)) if tax_type else None
        if tax_type and (rate is None or rate["Status"] != "ACTIVE"):
            errors.append(
                f"The TaxType code '{tax_type}' does not exist or cannot be used for this type "
                "of transaction."
            )
        out[key] = details
    return out, errors


def duplicate_code_message(code: str) -> str:
    return f"Item code '{code}' already exists."


def prepare(
    org: Organisation, element: dict[str, Any], existing: Record | None, unitdp: int
) -> dict[str, Any]:
    errors: list[str] = []
    try:
        code = text(element, "Code", 30)
        text(element, "Name", 50)
    except ElementInvalid as exc:
        errors.extend(exc.messages)
        code = None
    if existing is None and not code:
        errors.append("Item code must be specified.")
    if code:
        other = org.item_by_code(code)
        if other is not None and other is not existing:
            errors.append(duplicate_code_message(code))
    details, detail_errors = _details(org, element, unitdp)
    errors.extend(detail_errors)
    if errors:
        raise ElementInvalid(errors)
    return {"element": element, "existing": existing, "details": details}


def commit(org: Organisation, prepared: dict[str, Any], now: datetime) -> Record:
    element = prepared["element"]
    item: Record | None = prepared["existing"]
    if item is None:
        item_id = new_id()
        item = {
            "ItemID": item_id,
            "Code": element["Code"],
            "Description": "",
            "PurchaseDescription": "",
            "IsSold": True,
            "IsPurchased": True,
            "IsTrackedAsInventory": False,
        }
        org.items[item_id] = item
    if element.get("Code"):
        item["Code"] = element["Code"]
    copy_fields(item, element, _WRITABLE)
    for key, details in prepared["details"].items():
        item[key] = {**item.get(key, {}), **details}
    touch(item, now)
    return item


def delete(org: Organisation, item_id: str) -> Record:
    item = get(org, item_id)
    del org.items[item["ItemID"]]
    return item
