"""Records ⇄ WatermelonDB raw rows: the pure half of the WatermelonDB adapter (no I/O).

Down: a feed record becomes one raw row of its table (an invoice also its ``invoice_lines``), with
``sync`` flattened into ``sync_*`` columns. Up: raw rows become the native drafts
(``sync_protocol.messages``), so validation stays the native push's. Only known columns are read;
``_status`` and server-owned columns (``xero_id``, ``sync_*``, ``status``, …) are
ignored on input; ``_changed`` says which fields of an edited customer the app changed.

The rows of the kinds phones push (customers, products, invoices and their lines, payments) are
their kinds' (``server/kinds/``, by ``ROWS``); the tables phones only read (tax rates, accounts, tracking
categories and options, branding themes, the organisation) are here.
"""

from __future__ import annotations

from server.kinds import ROWS
from server.kinds.invoice import line_id, line_rows
from server.kinds.rows import Unusable
from sync_protocol.entities import (
    Account,
    BrandingTheme,
    Entity,
    OrganisationSettings,
    TaxRate,
    TrackingCategory,
    TrackingOption,
)
from sync_protocol.watermelon import RawRecord

# The pull half of the adapter reads these from here too.
__all__ = ["Unusable", "line_id", "line_rows", "record_row"]


def record_row(record: Entity) -> RawRecord:
    """The raw row of a feed record (an invoice without its lines: see ``line_rows``)."""
    of_kind = ROWS.get(type(record))
    if of_kind is not None:
        return of_kind(record)
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
    if isinstance(record, TrackingCategory):
        return {"id": record.id, "xero_id": record.xero_id, "name": record.name, "status": record.status}
    if isinstance(record, TrackingOption):
        return {
            "id": record.id,
            "xero_id": record.xero_id,
            "tracking_category_id": record.tracking_category_id,
            "name": record.name,
            "status": record.status,
        }
    if isinstance(record, BrandingTheme):
        return {
            "id": record.id,
            "xero_id": record.xero_id,
            "name": record.name,
            "sort_order": record.sort_order,
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
            "forward_invoice_edits": record.forward_invoice_edits,
            "update_customers": record.update_customers,
            "update_products": record.update_products,
            "email_invoices": record.email_invoices,
            "bank_account_code": record.bank_account_code,
            "revenue_account_code": record.revenue_account_code,
        }
    raise TypeError(f"no WatermelonDB table for {type(record).__name__}")
