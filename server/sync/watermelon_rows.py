"""Records ⇄ WatermelonDB raw rows: the pure half of the WatermelonDB adapter (no I/O).

Down: a feed record becomes one raw row of its table (an invoice also its ``invoice_lines``), with
``sync`` flattened into ``sync_*`` columns. Up: raw rows become the native drafts
(``sync_protocol.messages``), so validation stays the native push's. Only known columns are read;
``_status`` and server-owned columns (``xero_id``, ``sync_*``, ``status``, …) are
ignored on input; ``_changed`` says which fields of an edited customer (or invoice) the app changed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from sync_protocol.entities import (
    Account,
    Customer,
    Entity,
    Invoice,
    OrganisationSettings,
    Payment,
    Product,
    RecordSync,
    TaxRate,
)
from sync_protocol.messages import (
    CUSTOMER_FIELDS,
    CustomerDraft,
    CustomerField,
    InvoiceDraft,
    InvoiceField,
    PaymentDraft,
    readable,
)
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
_ADDRESS = ("line1", "line2", "city", "region", "postal_code", "country")


class Unusable(Exception):
    """A pushed row cannot be read as a record (wrong type, missing column)."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _sync(sync: RecordSync | None) -> RawRecord:
    return {
        "sync_state": sync.state if sync else "",
        "sync_mutation_id": sync.mutation_id if sync else "",
        "sync_message": sync.message if sync else "",
        "sync_code": "",
        "sync_field": sync.field if sync else "",
    }


def line_id(invoice_id: str, position: int) -> str:
    """The id of a line whose app-chosen id ledgersync does not know (an invoice from elsewhere)."""
    return f"{invoice_id}-l{position}"


def record_row(record: Entity) -> RawRecord:
    """The raw row of a feed record (an invoice without its lines: see ``line_rows``)."""
    if isinstance(record, TaxRate):
        return {
            "id": record.id,
            "xero_id": record.xero_id,
            "tax_type": record.tax_type,
            "name": record.name,
            "rate": str(record.rate),
            "status": record.status,
            "can_apply_to_revenue": record.can_apply_to_revenue,
        }
    if isinstance(record, Account):
        return {
            "id": record.id,
            "xero_id": record.xero_id,
            "code": record.code,
            "name": record.name,
            "type": record.type,
            "account_class": record.account_class,
            "status": record.status,
            "tax_type": record.tax_type,
            "enable_payments": record.enable_payments,
        }
    if isinstance(record, OrganisationSettings):
        return {
            "id": record.id,
            "name": record.name,
            "base_currency": record.base_currency,
            "country_code": record.country_code,
            "default_line_amount_type": record.default_line_amount_type,
            "default_sales_tax_type": record.default_sales_tax_type,
            "forward_payments": record.forward_payments,
            "invoice_status": record.invoice_status,
        }
    if isinstance(record, Product):
        return {
            "id": record.id,
            "xero_id": record.xero_id,
            "code": record.code,
            "name": record.name,
            "description": record.description,
            "unit_price": _str(record.unit_price),
            "account_code": record.account_code,
            "tax_type": record.tax_type,
            "is_sold": record.is_sold,
        }
    if isinstance(record, Customer):
        address = record.address
        return {
            "id": record.id,
            "xero_id": record.xero_id,
            "name": record.name,
            "first_name": record.first_name,
            "last_name": record.last_name,
            "email": record.email,
            "phone": record.phone,
            "account_number": record.account_number,
            "tax_number": record.tax_number,
            **{f"address_{part}": getattr(address, part) if address else "" for part in _ADDRESS},
            "status": record.status,
            **_sync(record.sync),
        }
    if isinstance(record, Invoice):
        return {
            "id": record.id,
            "xero_id": record.xero_id,
            "customer_id": record.customer_id,
            "invoice_number": record.invoice_number,
            "reference": record.reference,
            "date": record.date.isoformat(),
            "due_date": record.due_date.isoformat() if record.due_date else None,
            "currency": record.currency,
            "line_amount_type": record.line_amount_type,
            "sub_total": str(record.sub_total),
            "total_tax": str(record.total_tax),
            "total": str(record.total),
            "amount_paid": str(record.amount_paid),
            "amount_due": str(record.amount_due),
            "status": record.status,
            **_sync(record.sync),
        }
    if isinstance(record, Payment):
        return {
            "id": record.id,
            "xero_id": record.xero_id,
            "invoice_id": record.invoice_id,
            "account_code": record.account_code,
            "date": record.date.isoformat(),
            "amount": str(record.amount),
            "reference": record.reference,
            "status": record.status,
            **_sync(record.sync),
        }
    raise TypeError(f"no WatermelonDB table for {type(record).__name__}")


def line_rows(invoice: Invoice, ids: dict[int, str]) -> list[RawRecord]:
    """The invoice's lines as ``invoice_lines`` rows; ``ids`` maps position to the app's line id."""
    return [
        {
            "id": ids.get(position) or line_id(invoice.id, position),
            "invoice_id": invoice.id,
            "position": position,
            "description": line.description,
            "product_id": line.product_id,
            "quantity": str(line.quantity),
            "unit_amount": str(line.unit_amount),
            "discount_rate": _str(line.discount_rate),
            "account_code": line.account_code,
            "tax_type": line.tax_type,
            "line_amount": str(line.line_amount),
            "tax_amount": str(line.tax_amount),
        }
        for position, line in enumerate(invoice.lines)
    ]


# --- up: raw rows to native drafts ----------------------------------------------------------


def _text(raw: RawRecord, column: str) -> Any:
    """A string column: null reads as ''; a wrong type is left for the draft to refuse."""
    value = raw.get(column)
    return "" if value is None else value


def _optional(raw: RawRecord, column: str) -> Any:
    """An optional column: null and '' both mean absent."""
    value = raw.get(column)
    return None if value is None or value == "" else value


def _convert(data: dict[str, Any], type_: type[Any], prefix: str) -> Any:
    try:
        return msgspec.convert(data, type_, strict=True)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `")
        message = readable(message)
        field = path.rstrip("`").removeprefix("$").removeprefix(".")
        field = f"{prefix}.{field}" if field else prefix
        raise Unusable(f"{field}: {message}", field) from exc


def customer_draft(raw: RawRecord) -> CustomerDraft:
    address = {part: _text(raw, f"address_{part}") for part in _ADDRESS}
    draft: CustomerDraft = _convert(
        {
            "id": raw.get("id"),
            "name": raw.get("name"),
            "first_name": _text(raw, "first_name"),
            "last_name": _text(raw, "last_name"),
            "email": _text(raw, "email"),
            "phone": _text(raw, "phone"),
            "account_number": _text(raw, "account_number"),
            "tax_number": _text(raw, "tax_number"),
            "address": address if any(address.values()) else None,
        },
        CustomerDraft,
        "customer",
    )
    return draft


def changed_customer_fields(raw: RawRecord) -> list[CustomerField] | None:
    """The customer fields WatermelonDB's ``_changed`` column names (comma-separated columns the
    app changed since its last sync); None when the row does not say."""
    changed = raw.get("_changed")
    if not isinstance(changed, str) or not changed:
        return None
    columns = {column.strip() for column in changed.split(",")}
    fields = [field for field in CUSTOMER_FIELDS if field in columns]
    if any(column.startswith("address_") for column in columns):
        fields.append("address")
    return fields


# An invoice row's columns as the invoice fields an edit changes (its amounts are its lines').
_INVOICE_COLUMN_FIELD: dict[str, InvoiceField] = {
    "customer_id": "customer_id",
    "reference": "reference",
    "date": "date",
    "due_date": "due_date",
    "line_amount_type": "lines",
    "sub_total": "lines",
    "total_tax": "lines",
    "total": "lines",
}


def changed_invoice_fields(header: RawRecord | None, lines_changed: bool) -> list[InvoiceField] | None:
    """The invoice fields an app changed: its row's ``_changed`` columns, and ``lines`` when it pushed
    line rows; None when its pushed row does not say (a created row, no ``_changed``)."""
    fields: set[InvoiceField] = {"lines"} if lines_changed else set()
    if header is not None:
        changed = header.get("_changed")
        if not isinstance(changed, str) or not changed:
            return None
        columns = {column.strip() for column in changed.split(",")}
        fields |= {field for column, field in _INVOICE_COLUMN_FIELD.items() if column in columns}
    return [
        field for field in ("customer_id", "reference", "date", "due_date", "lines") if field in fields
    ] or None


def invoice_draft(header: RawRecord, lines: list[RawRecord]) -> InvoiceDraft:
    """The invoice a header row and its line rows (in order) make."""
    draft: InvoiceDraft = _convert(
        {
            "id": header.get("id"),
            "customer_id": header.get("customer_id"),
            "reference": _text(header, "reference"),
            "date": header.get("date"),
            "due_date": _optional(header, "due_date"),
            "line_amount_type": _optional(header, "line_amount_type") or "Exclusive",
            "lines": [
                {
                    "description": _text(line, "description"),
                    "product_id": _optional(line, "product_id"),
                    "quantity": line.get("quantity"),
                    "unit_amount": line.get("unit_amount"),
                    "discount_rate": _optional(line, "discount_rate"),
                    "account_code": _optional(line, "account_code"),
                    "tax_type": _optional(line, "tax_type"),
                    "line_amount": line.get("line_amount"),
                    "tax_amount": line.get("tax_amount"),
                }
                for line in lines
            ],
            "sub_total": header.get("sub_total"),
            "total_tax": header.get("total_tax"),
            "total": header.get("total"),
        },
        InvoiceDraft,
        "invoice",
    )
    return draft


def payment_draft(raw: RawRecord) -> PaymentDraft:
    draft: PaymentDraft = _convert(
        {
            "id": raw.get("id"),
            "invoice_id": raw.get("invoice_id"),
            "account_code": _optional(raw, "account_code"),
            "date": raw.get("date"),
            "amount": raw.get("amount"),
            "reference": _text(raw, "reference"),
        },
        PaymentDraft,
        "payment",
    )
    return draft


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
