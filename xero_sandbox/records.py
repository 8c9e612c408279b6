"""Helpers shared by the record modules: wire copies, field checks, timestamps."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .errors import ElementInvalid
from .store import Record
from .wire import msdate

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Deliberately loose: Xero rejects obviously broken addresses, not every RFC corner case.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def public(record: Record) -> dict[str, Any]:
    """A shallow copy without the sandbox's own `_` keys, UpdatedDateUTC formatted."""
    out = {key: value for key, value in record.items() if not key.startswith("_")}
    if "_updated" in record:
        out["UpdatedDateUTC"] = msdate(record["_updated"])
    return out


def touch(record: Record, now: datetime) -> None:
    """Every change bumps UpdatedDateUTC; keep it strictly increasing so If-Modified-Since is exact."""
    previous = record.get("_updated")
    record["_updated"] = now if previous is None or now > previous else previous


def is_guid(value: Any) -> bool:
    return isinstance(value, str) and bool(GUID.match(value))


def text(element: dict[str, Any], key: str, max_length: int | None = None) -> str | None:
    value = element.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ElementInvalid([f"{key} must be a string."])
    if max_length is not None and len(value) > max_length:
        raise ElementInvalid([f"{key} must not be more than {max_length} characters long."])
    return value


def copy_fields(target: Record, element: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if name in element:
            target[name] = element[name]
