"""WatermelonDB's sync contract as ledgersync serves it: tables, columns, pull and push bodies.

A WatermelonDB app's ``synchronize()`` pulls ``{changes: {table: {created, updated, deleted}},
timestamp}`` and pushes the same ``changes`` shape. These are the tables and columns ledgersync
speaks (snake_case, string ``id``, money as decimal strings, dates as ``YYYY-MM-DD``) and the
bodies of ``/mobile/v1/watermelon/pull`` and ``/push``. See docs/watermelondb.md. No I/O here.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

ColumnType = Literal["string", "number", "boolean"]

# Pull timestamps are the feed cursor plus one: WatermelonDB needs a number > 0 even for an
# organisation whose feed is still empty (cursor 0).
TIMESTAMP_OFFSET = 1

# The WatermelonDB endpoints' own codes (``push_conflict``, ``read_only``, ``not_deletable``) are in
# sync_protocol.errors.ErrorCode with every other code.


class Column(msgspec.Struct, frozen=True):
    name: str
    type: ColumnType
    is_optional: bool = False
    is_indexed: bool = False
    description: str = ""


class Table(msgspec.Struct, frozen=True):
    name: str
    entity: str  # the feed entity its rows come from (invoice_lines: split out of "invoice")
    columns: tuple[Column, ...]
    read_only: bool  # comes from Xero; a phone never pushes it
    description: str = ""


def _s(name: str, description: str = "", optional: bool = False, indexed: bool = False) -> Column:
    return Column(name, "string", optional, indexed, description)


def _b(name: str, description: str = "") -> Column:
    return Column(name, "boolean", False, False, description)


XERO_ID = _s("xero_id", "Xero's id of the record; null until Xero has it", optional=True)

# Where a record a phone pushed stands (the native record's `sync`, flattened). Empty strings on
# records that came from Xero.
SYNC_COLUMNS: tuple[Column, ...] = (
    _s("sync_state", "'' | accepted | waiting | forwarding | in_xero | retrying | failed | held | rejected"),
    _s("sync_mutation_id", "the mutation id ledgersync gave the last upload of this record"),
    _s("sync_message", "why: Xero's message when failed, the reason when rejected"),
    _s("sync_code", "the rejection code (docs/protocol.md error table) when rejected"),
    _s("sync_field", "the field a rejection or Xero's refusal concerns, e.g. invoice.total"),
)

TABLES: tuple[Table, ...] = (
    Table(
        "organisation_settings",
        "organisation",
        (
            _s("name"),
            _s("base_currency"),
            _s("country_code"),
            _s("default_line_amount_type", "Exclusive | Inclusive | NoTax"),
            _s("default_sales_tax_type", optional=True),
            _b("forward_payments"),
            _s("invoice_status", "DRAFT | AUTHORISED: how invoices are created in Xero"),
            _b("forward_invoice_edits", "false: edits of invoices in Xero are refused"),
            _b("update_customers", "false: edits of customers in Xero stay on the server"),
            _b("update_products", "false: edits of products in Xero stay on the server"),
            _b("email_invoices", "true: the app may ask Xero to email an invoice to its customer"),
            _s("bank_account_code", "where payments without an account go; null: none chosen", optional=True),
            _s("revenue_account_code", "the account of lines without one", optional=True),
        ),
        read_only=True,
        description="One row (id `organisation`): what the app needs to know about the business.",
    ),
    Table(
        "tax_rates",
        "tax_rate",
        (
            XERO_ID,
            _s("tax_type", "Xero's TaxType code; lines refer to it", indexed=True),
            _s("name"),
            _s("rate", "effective rate in percent, e.g. '15.0000'"),
            _s("status", "ACTIVE | DELETED | ARCHIVED | PENDING"),
            _b("can_apply_to_revenue"),
        ),
        read_only=True,
    ),
    Table(
        "accounts",
        "account",
        (
            XERO_ID,
            _s("code", "payments and lines refer to it", indexed=True),
            _s("name"),
            _s("type", "Xero's account Type: BANK, REVENUE, SALES, ..."),
            _s("account_class"),
            _s("status", "ACTIVE | ARCHIVED"),
            _s("tax_type", optional=True),
            _b("enable_payments"),
        ),
        read_only=True,
    ),
    Table(
        "tracking_categories",
        "tracking_category",
        (
            XERO_ID,
            _s("name"),
            _s("status", "ACTIVE | ARCHIVED (its options cannot be used)"),
        ),
        read_only=True,
        description="Xero's tracking categories (at most two ACTIVE): locations, departments, jobs.",
    ),
    Table(
        "tracking_options",
        "tracking_option",
        (
            XERO_ID,
            _s("tracking_category_id", "its category", indexed=True),
            _s("name"),
            _s("status", "ACTIVE | ARCHIVED (refused on lines)"),
        ),
        read_only=True,
        description="The options of the tracking categories; invoice lines name up to two.",
    ),
    Table(
        "branding_themes",
        "branding_theme",
        (
            XERO_ID,
            _s("name"),
            Column("sort_order", "number", description="0: Xero's default theme"),
        ),
        read_only=True,
        description="Xero's branding themes; an invoice may name one.",
    ),
    Table(
        "products",
        "product",
        (
            XERO_ID,
            _s("code"),
            _s("name"),
            _s("description"),
            _s("unit_price", "decimal string", optional=True),
            _s("account_code", optional=True),
            _s("tax_type", optional=True),
            _b("is_sold"),
            _b("is_purchased"),
            *SYNC_COLUMNS,
        ),
        read_only=False,  # products created and edited on phones (``upsert_product``)
    ),
    Table(
        "customers",
        "customer",
        (
            XERO_ID,
            _s("name", "required"),
            _s("first_name"),
            _s("last_name"),
            _s("email"),
            _s("phone"),
            _s("account_number"),
            _s("tax_number"),
            _s("address_line1"),
            _s("address_line2"),
            _s("address_city"),
            _s("address_region"),
            _s("address_postal_code"),
            _s("address_country"),
            _s("status", "ACTIVE | ARCHIVED (set by the server)"),
            *SYNC_COLUMNS,
        ),
        read_only=False,
    ),
    Table(
        "invoices",
        "invoice",
        (
            XERO_ID,
            _s("customer_id", "required", indexed=True),
            _s("invoice_number", "Xero's number, once Xero has the invoice"),
            _s("reference"),
            _s("date", "YYYY-MM-DD, required"),
            _s("due_date", "YYYY-MM-DD", optional=True),
            _s("currency", "set by the server"),
            _s("line_amount_type", "Exclusive | Inclusive | NoTax ('' means Exclusive)"),
            _s("sub_total", "decimal string, required"),
            _s("total_tax", "decimal string, required"),
            _s("total", "decimal string, required"),
            _s("amount_paid", "set by the server"),
            _s("amount_due", "set by the server"),
            _s("status", "set by the server: AUTHORISED, PAID, ... (voided invoices are deleted rows)"),
            _s("branding_theme_id", "a branding theme; null: Xero's default", optional=True),
            _s("online_invoice_url", "set by the server: Xero's online invoice, once approved ('': none)"),
            _b("emailed", "set by the server: Xero emailed it to the customer at a phone's request"),
            *SYNC_COLUMNS,
        ),
        read_only=False,
    ),
    Table(
        "invoice_lines",
        "invoice",
        (
            _s("invoice_id", "required", indexed=True),
            Column("position", "number", description="order of the line on its invoice"),
            _s("description"),
            _s("product_id", optional=True),
            _s("quantity", "decimal string, required"),
            _s("unit_amount", "decimal string, required"),
            _s("discount_rate", "percent, decimal string", optional=True),
            _s("account_code", optional=True),
            _s("tax_type", optional=True),
            _s("line_amount", "decimal string, required"),
            _s("tax_amount", "decimal string, required"),
            _s("tracking_option_1_id", "a tracking option", optional=True),
            _s("tracking_option_2_id", "a tracking option of the other category", optional=True),
        ),
        read_only=False,
        description="The lines of an invoice; pushed with it, or alone to edit it.",
    ),
    Table(
        "payments",
        "payment",
        (
            XERO_ID,
            _s("invoice_id", "required", indexed=True),
            _s("account_code", "a bank account's code; null: the organisation's", optional=True),
            _s("date", "YYYY-MM-DD, required"),
            _s("amount", "decimal string, required"),
            _s("reference"),
            _s(
                "status",
                "AUTHORISED | FAILED: Xero refused it (set by the server; deleted payments are deleted rows)",
            ),
            *SYNC_COLUMNS,
        ),
        read_only=False,
    ),
)

TABLE_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
# The feed entity each table's rows come from, and back (invoice_lines ride on "invoice").
TABLE_OF_ENTITY: dict[str, str] = {t.entity: t.name for t in TABLES if t.name != "invoice_lines"}

RawRecord = dict[str, Any]


class TableChanges(msgspec.Struct, forbid_unknown_fields=True):
    """One table's part of a ``changes`` object. Raw records use the columns above; ``_status``
    and ``_changed`` are ignored on input and never sent."""

    created: list[RawRecord] = []
    updated: list[RawRecord] = []
    deleted: list[str] = []


Changes = dict[str, TableChanges]


_PYTHON_TYPES: dict[ColumnType, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
}


_JSON_TYPE_NAMES: dict[type, str] = {
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    dict: "object",
    list: "array",
}


def column_type_problem(changes: Changes) -> tuple[str, str] | None:
    """The first pushed value whose JSON type is not its column's, as ``(field, message)``.

    Every column of a table a phone writes has one type (``TABLES``): a string column takes a string
    (or null, read as empty), a number column a number, a boolean column ``true``/``false``; an
    optional column also takes null. WatermelonDB sanitizes records to the app's schema before it
    pushes, so a wrong type means the app's schema differs from this one (``docs/watermelondb.md``).
    Tables ledgersync does not know, read-only tables and columns it does not know are not checked here.
    """
    for name, table_changes in changes.items():
        table = TABLE_BY_NAME.get(name)
        if table is None or table.read_only:
            continue
        for kind, raws in (("created", table_changes.created), ("updated", table_changes.updated)):
            for index, raw in enumerate(raws):
                for column in table.columns:
                    if column.name not in raw:
                        continue
                    value = raw[column.name]
                    if value is None and (column.is_optional or column.type == "string"):
                        continue
                    wanted = _PYTHON_TYPES[column.type]
                    if isinstance(value, bool) != (column.type == "boolean") or not isinstance(value, wanted):
                        got = _JSON_TYPE_NAMES.get(type(value), "null" if value is None else "value")
                        return (
                            f"{name}.{kind}[{index}].{column.name}",
                            f"the {column.type} column {column.name} cannot hold a {got}",
                        )
    return None


class PullResponse(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``timestamp``: pass it back as ``last_pulled_at``. ``experimentalStrategy: "replacement"``:
    the changes are the whole data set (WatermelonDB keeps unpushed local records)."""

    changes: Changes
    timestamp: int
    experimentalStrategy: Literal["replacement"] | None = None  # WatermelonDB's name


class Rejection(msgspec.Struct, kw_only=True):
    """Why a pushed record was not applied (also pulled as its ``sync_*`` columns)."""

    table: str
    id: str
    code: str
    message: str
    field: str | None = None


class PushResponse(msgspec.Struct, kw_only=True):
    """``experimentalRejectedIds``: records WatermelonDB must keep as unsynced; ``rejections``
    says why, one entry per rejected record."""

    experimentalRejectedIds: dict[str, list[str]]  # WatermelonDB's name
    rejections: list[Rejection]
