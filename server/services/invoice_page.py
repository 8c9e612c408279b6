"""An invoice as the console's invoice page shows it: customer, lines, tax, total, where it stands in
Xero, and the uploads that carried it. Xero's ``Url`` of an invoice ledgersync created opens this page
(``server/kinds/invoice.py`` ``backlink``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from server.core.current import current_records
from server.core.errors import NotFound
from server.core.records import RecordView
from server.db.database import Database
from server.db.sync_models import Upload
from server.forwarding.outbox_admin import UploadView
from sync_protocol.entities import Customer, Invoice, Product

# Xero's own invoice page. Without the organisation's short code it opens in the organisation the
# Xero user last had open (Xero asks them to switch otherwise).
XERO_INVOICE_URL = "https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={xero_id}"


@dataclass(frozen=True)
class InvoiceLineView:
    description: str
    product: str
    quantity: Decimal
    unit_amount: Decimal
    discount_rate: Decimal | None
    tax: str
    line_amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True)
class InvoicePage:
    invoice: Invoice
    customer: str
    lines: list[InvoiceLineView]
    uploads: list[UploadView]
    xero_url: str | None


async def invoice_page(database: Database, organisation_id: uuid.UUID, record_id: str) -> InvoicePage:
    async with database.sessions() as session:
        records = current_records(session, organisation_id)
        invoice = await records.record(Invoice, record_id)
        rows = list(
            await session.scalars(
                select(Upload)
                .where(
                    Upload.organisation_id == organisation_id,
                    Upload.entity == "invoice",
                    Upload.record_id == record_id,
                )
                .order_by(Upload.id.desc())
            )
        )
        if invoice is None:
            raise NotFound("There is no such invoice in this organisation.")
        customer = await records.record(Customer, invoice.customer_id)
        view = RecordView(session, organisation_id)
        lines = []
        for line in invoice.lines:
            product = await records.record(Product, line.product_id) if line.product_id else None
            lines.append(
                InvoiceLineView(
                    description=line.description,
                    product=product.name if product is not None else "",
                    quantity=line.quantity,
                    unit_amount=line.unit_amount,
                    discount_rate=line.discount_rate,
                    tax=await _tax_name(view, line.tax_type),
                    line_amount=line.line_amount,
                    tax_amount=line.tax_amount,
                )
            )
        return InvoicePage(
            invoice=invoice,
            customer=customer.name if customer is not None else "",
            lines=lines,
            uploads=[UploadView.of(row) for row in rows],
            xero_url=XERO_INVOICE_URL.format(xero_id=invoice.xero_id) if invoice.xero_id else None,
        )


async def _tax_name(view: RecordView, tax_type: str | None) -> str:
    """The tax rate's name and percentage as Xero has them ("GST on Income 15%"), else the code."""
    if not tax_type:
        return ""
    rate = await view.tax_rate(tax_type)
    return f"{rate.name} ({rate.rate.normalize():f}%)" if rate is not None else tax_type
