"""Tracking categories (with their options) and branding themes, and their use on invoices.

Xero lets an organisation have at most two ACTIVE tracking categories; each has options, and an
option or a whole category may be ARCHIVED (kept, but no longer usable on new transactions). A
line names an option by ``TrackingCategoryID``/``TrackingOptionID`` or by ``Name``/``Option``.
Branding themes have no status; the one with ``SortOrder`` 0 is the default, and Xero gives it to
an invoice created without ``BrandingThemeID``. Xero documents none of the refusal messages for
tracking or themes: the wording here is the sandbox's best guess, naming the option and category.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .errors import NotFound, ValidationFailed
from .records import is_guid, public
from .store import Organisation, Record, new_id
from .wire import msdate

MAX_ACTIVE_CATEGORIES = 2
STATUSES = ("ACTIVE", "ARCHIVED")
DEFAULT_THEME_NAME = "Standard"


# --- wire ------------------------------------------------------------------------------------------
def category_wire(category: Record, include_archived: bool) -> dict[str, Any]:
    out = public(category)
    out["Options"] = [
        option_wire(category, option)
        for option in category["Options"]
        if include_archived or option["Status"] == "ACTIVE"
    ]
    return out


def option_wire(category: Record, option: Record) -> dict[str, Any]:
    return {
        "TrackingOptionID": option["TrackingOptionID"],
        "Name": option["Name"],
        "Status": option["Status"],
        "TrackingCategoryID": category["TrackingCategoryID"],
    }


def theme_wire(theme: Record) -> dict[str, Any]:
    out = public(theme)
    out["CreatedDateUTC"] = msdate(theme["_created"])
    return out


# --- the organisation's settings (the control API acts as a Xero user) -------------------------------
def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed([{"ValidationErrors": [{"Message": message}]}])


def _active_count(org: Organisation, other_than: str | None = None) -> int:
    return sum(
        1
        for category in org.tracking_categories.values()
        if category["Status"] == "ACTIVE" and category["TrackingCategoryID"] != other_than
    )


def _check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{what} must be specified.")
    if len(value) > 100:
        raise _invalid(f"{what} must not be more than 100 characters long.")
    return value.strip()


def create_category(org: Organisation, name: Any, options: list[Any]) -> Record:
    name = _check_name(name, "Tracking category name")
    if any(c["Name"].lower() == name.lower() for c in org.tracking_categories.values()):
        raise _invalid(f"A tracking category called '{name}' already exists.")
    if _active_count(org) >= MAX_ACTIVE_CATEGORIES:
        raise _invalid("You can have at most two active tracking categories.")
    category: Record = {
        "TrackingCategoryID": new_id(),
        "Name": name,
        "Status": "ACTIVE",
        "Options": [],
    }
    for option in options:
        add_option(category, option)
    org.tracking_categories[category["TrackingCategoryID"]] = category
    return category


def category(org: Organisation, category_id: str) -> Record:
    found = org.tracking_categories.get(category_id.lower())
    if found is None:
        raise NotFound()
    return found


def set_category_status(org: Organisation, category_id: str, status: str) -> Record:
    found = category(org, category_id)
    if status not in STATUSES:
        raise _invalid(f"Status '{status}' is not valid.")
    if status == "ACTIVE" and found["Status"] != "ACTIVE" and _active_count(org) >= MAX_ACTIVE_CATEGORIES:
        raise _invalid("You can have at most two active tracking categories.")
    found["Status"] = status
    return found


def add_option(category_record: Record, name: Any) -> Record:
    name = _check_name(name, "Tracking option name")
    if any(o["Name"].lower() == name.lower() for o in category_record["Options"]):
        raise _invalid(f"The option '{name}' already exists in '{category_record['Name']}'.")
    option: Record = {"TrackingOptionID": new_id(), "Name": name, "Status": "ACTIVE"}
    category_record["Options"].append(option)
    return option


def set_option_status(category_record: Record, option_id: str, status: str) -> Record:
    if status not in STATUSES:
        raise _invalid(f"Status '{status}' is not valid.")
    options: list[Record] = category_record["Options"]
    for option in options:
        if option["TrackingOptionID"].lower() == option_id.lower():
            option["Status"] = status
            return option
    raise NotFound()


def add_theme(org: Organisation, name: Any, now: datetime) -> Record:
    name = _check_name(name, "Branding theme name")
    theme: Record = {
        "BrandingThemeID": new_id(),
        "Name": name,
        "Type": "INVOICE",
        "SortOrder": len(org.branding_themes),
        "_created": now,
    }
    org.branding_themes[theme["BrandingThemeID"]] = theme
    return theme


def delete_theme(org: Organisation, theme_id: str) -> Record:
    theme = org.branding_themes.get(theme_id.lower())
    if theme is None:
        raise NotFound()
    if theme["SortOrder"] == 0:
        raise _invalid("The default branding theme cannot be deleted.")
    del org.branding_themes[theme["BrandingThemeID"]]
    return theme


def default_theme(org: Organisation) -> Record | None:
    themes = sorted(org.branding_themes.values(), key=lambda theme: theme["SortOrder"])
    return themes[0] if themes else None


# --- on invoices -----------------------------------------------------------------------------------
def line_tracking(org: Organisation, given: Any, errors: list[str]) -> list[Record]:
    """A line's ``Tracking`` as Xero keeps it (category and option, by id and name), or errors."""
    if given in (None, []):
        return []
    if not isinstance(given, list) or not all(isinstance(entry, dict) for entry in given):
        errors.append("Tracking must be a list of tracking categories.")
        return []
    kept: list[Record] = []
    seen: set[str] = set()
    for entry in given:
        found = _category_of(org, entry, errors)
        if found is None:
            continue
        option = _option_of(found, entry, errors)
        if option is None:
            continue
        if found["Status"] != "ACTIVE":
            errors.append(f"The tracking category '{found['Name']}' is archived and cannot be used.")
            continue
        if option["Status"] != "ACTIVE":
            errors.append(
                f"The tracking option '{option['Name']}' of tracking category '{found['Name']}' is "
                "archived and cannot be used."
            )
            continue
        if found["TrackingCategoryID"] in seen:
            errors.append(f"A line can have only one option of tracking category '{found['Name']}'.")
            continue
        seen.add(found["TrackingCategoryID"])
        kept.append(
            {
                "TrackingCategoryID": found["TrackingCategoryID"],
                "TrackingOptionID": option["TrackingOptionID"],
                "Name": found["Name"],
                "Option": option["Name"],
            }
        )
    return kept


def _category_of(org: Organisation, entry: dict[str, Any], errors: list[str]) -> Record | None:
    category_id = entry.get("TrackingCategoryID")
    if category_id:
        found = org.tracking_categories.get(str(category_id).lower()) if is_guid(category_id) else None
        if found is None:
            errors.append(f"The tracking category with ID '{category_id}' could not be found.")
        return found
    name = entry.get("Name")
    for candidate in org.tracking_categories.values():
        if isinstance(name, str) and candidate["Name"].lower() == name.lower():
            return candidate
    errors.append(f"The tracking category '{name}' could not be found.")
    return None


def _option_of(category_record: Record, entry: dict[str, Any], errors: list[str]) -> Record | None:
    option_id = entry.get("TrackingOptionID")
    name = entry.get("Option")
    options: list[Record] = category_record["Options"]
    for option in options:
        if option_id and str(option_id).lower() == option["TrackingOptionID"].lower():
            return option
        if not option_id and isinstance(name, str) and option["Name"].lower() == name.lower():
            return option
    shown = option_id or name
    errors.append(
        f"The tracking option '{shown}' could not be found in tracking category '{category_record['Name']}'."
    )
    return None


def invoice_theme(org: Organisation, given: Any, errors: list[str]) -> str | None:
    """The ``BrandingThemeID`` an invoice gets: the one named, else the default theme's."""
    if given in (None, ""):
        default = default_theme(org)
        return default["BrandingThemeID"] if default else None
    theme = org.branding_themes.get(str(given).lower()) if is_guid(given) else None
    if theme is None:
        errors.append(f"The branding theme with ID '{given}' could not be found.")
        return None
    return str(theme["BrandingThemeID"])
