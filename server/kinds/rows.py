"""The pieces every kind's WatermelonDB rows are made of (no I/O).

Down, a record's ``sync`` is flattened into ``sync_*`` columns; up, raw rows become the native
drafts (``sync_protocol.messages``), so validation stays the native push's. Only known columns
are read; a row that cannot be read as a draft is ``Unusable`` (naming the field).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from sync_protocol.entities import RecordSync
from sync_protocol.messages import readable
from sync_protocol.watermelon import RawRecord

# Columns holding decimal strings: compared as numbers ("49.95" is "49.9500").
_NUMERIC = frozenset(
    {
        "quantity",
        "unit_amount",
        "discount_rate",
        "line_amount",
        "tax_amount",
        "sub_total",
        "total_tax",
        "total",
    }
    | {"amount"}
)
ADDRESS = ("line1", "line2", "city", "region", "postal_code", "country")


class Unusable(Exception):
    """A pushed row cannot be read as a record (wrong type, missing column)."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def sync_columns(sync: RecordSync | None) -> RawRecord:
    return {
        "sync_state": sync.state if sync else "",
        "sync_mutation_id": sync.mutation_id if sync else "",
        "sync_message": sync.message if sync else "",
        "sync_code": "",
        "sync_field": sync.field if sync else "",
    }


def text(raw: RawRecord, column: str) -> Any:
    """A string column: null reads as ''; a wrong type is left for the draft to refuse."""
    value = raw.get(column)
    return "" if value is None else value


def optional(raw: RawRecord, column: str) -> Any:
    """An optional column: null and '' both mean absent."""
    value = raw.get(column)
    return None if value is None or value == "" else value


def convert(data: dict[str, Any], type_: type[Any], prefix: str) -> Any:
    try:
        return msgspec.convert(data, type_, strict=True)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `")
        message = readable(message)
        field = path.rstrip("`").removeprefix("$").removeprefix(".")
        field = f"{prefix}.{field}" if field else prefix
        raise Unusable(f"{field}: {message}", field) from exc


def _comparable(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _comparable(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if key in _NUMERIC and isinstance(value, str):
        return Decimal(value)
    return value


def same(draft: msgspec.Struct, other: msgspec.Struct) -> bool:
    """Whether two drafts describe the same record (decimal strings compared as numbers)."""
    return bool(_comparable(msgspec.to_builtins(draft)) == _comparable(msgspec.to_builtins(other)))
