"""Xero's invoice in ledgersync's terms: what phones get back of an invoice they made.

Xero's word replaces the phone's where nothing of the phone's is left to send: after Xero refuses
an edit (``server/forwarding/refused.py``), and when the mirror pulls an invoice that no upload is
changing (``server/mirror/pull.py``), so a Xero user's edit of the reference, dates or lines, or a
void in Xero, reaches every phone whole rather than as a status and amounts on the phone's edit.

The record keeps its own id, ``sync``, branding theme, online link and emailed flag (Xero's read
does not say which theme the phone chose, only the one Xero applied). A line Xero has as the
record has it keeps the record's line (its product, tracking and decimals), so a pull that finds
nothing new publishes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import feed, outbox
from server.core.invoices import FALLBACK_DESCRIPTION
from server.core.records import RecordView
from server.db.database import Database
from server.db.mirror_models import MirrorRecord
from server.db.models import SyncRecord
from server.xero import wire
from sync_protocol.entities import Invoice, InvoiceLine, LineAmountType, Product, encode_entity

_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
_LINE_AMOUNT_TYPES: dict[str, LineAmountType] = {
    "Exclusive": "Exclusive",
    "Inclusive": "Inclusive",
    "NoTax": "NoTax",
}
_invoice_decoder = msgspec.json.Decoder(Invoice)


class Names:
    """What Xero's invoices name, in ledgersync's ids: products by item code, customers by
    ContactID, tracking options by (TrackingCategoryID, TrackingOptionID). Read once per batch."""

    def __init__(
        self,
        products: dict[str, str],
        customers: dict[str, str],
        tracking: dict[tuple[str, str], str],
    ) -> None:
        self._products = products
        self._customers = customers
        self._tracking = tracking

    @classmethod
    async def load(
        cls, session: AsyncSession, organisation_id: uuid.UUID, invoices: Iterable[wire.Invoice]
    ) -> Names:
        invoices = list(invoices)
        codes = {line.item_code for i in invoices for line in i.line_items or () if line.item_code}
        contacts = {i.contact.contact_id.lower() for i in invoices if i.contact and i.contact.contact_id}
        tracked = any(line.tracking for i in invoices for line in i.line_items or ())
        tracking: dict[tuple[str, str], str] = {}
        if tracked:
            by_id, _ = await RecordView(session, organisation_id).xero_ids_for_invoices()
            tracking = {(c.lower(), o.lower()): option for option, (c, o) in by_id.items()}
        return cls(
            await _products_by_code(session, organisation_id, codes),
            await _customers_by_contact(session, organisation_id, contacts),
            tracking,
        )

    def version(self, xero: wire.Invoice, current: Invoice, local_payments: Decimal = Decimal(0)) -> Invoice:
        """``current`` as Xero has it; ``local_payments``: phone payments on it still on their way,
        which phones keep seeing as made."""
        status = xero.status if xero.status in _STATUSES else current.status
        paid, due = xero.amount_paid, xero.amount_due
        if local_payments and status == "AUTHORISED":
            paid, due = paid + local_payments, max(Decimal("0.00"), due - local_payments)
            status = "PAID" if due == 0 else status
        contact_id = xero.contact.contact_id.lower() if xero.contact else ""
        return msgspec.structs.replace(
            current,
            xero_id=xero.invoice_id or current.xero_id,
            invoice_number=xero.invoice_number or current.invoice_number,
            customer_id=self._customers.get(contact_id, current.customer_id),
            reference=xero.reference,
            date=_day(xero.date) or current.date,
            due_date=self._due_date(xero, current),
            currency=xero.currency_code or current.currency,
            line_amount_type=_LINE_AMOUNT_TYPES.get(xero.line_amount_types, current.line_amount_type),
            lines=self._lines(xero, current),
            sub_total=xero.sub_total,
            total_tax=xero.total_tax,
            total=xero.total,
            amount_paid=paid,
            amount_due=due,
            status=status,
        )

    def _lines(self, xero: wire.Invoice, current: Invoice) -> list[InvoiceLine]:
        if xero.line_items is None:  # a read without lines says nothing about them
            return current.lines
        lines = []
        for n, item in enumerate(xero.line_items):
            line = InvoiceLine(
                description=item.description,
                product_id=self._products.get(item.item_code) if item.item_code else None,
                quantity=item.quantity,
                unit_amount=item.unit_amount,
                discount_rate=item.discount_rate,
                account_code=item.account_code,
                tax_type=item.tax_type,
                line_amount=item.line_amount,
                tax_amount=item.tax_amount,
                tracking=[option for t in item.tracking if (option := self._option(t))],
            )
            ours = current.lines[n] if n < len(current.lines) else None
            lines.append(ours if ours is not None and _same_line(ours, line) else line)
        return lines

    @staticmethod
    def _due_date(xero: wire.Invoice, current: Invoice) -> dt.date | None:
        due = _day(xero.due_date)
        # The forwarder sends the invoice date as the due date of an invoice without one.
        if due is None or (current.due_date is None and due == current.date):
            return current.due_date
        return due

    def _option(self, tracking: wire.LineTracking) -> str | None:
        key = (tracking.tracking_category_id.lower(), tracking.tracking_option_id.lower())
        return self._tracking.get(key)


def _same_line(ours: InvoiceLine, xeros: InvoiceLine) -> bool:
    # Decimals compare by value (1 == 1.0000); a product Xero names by a code no product has here,
    # or tracking no option here matches, does not make the phone's line differ.
    return (
        (ours.description == xeros.description or (not ours.description and _filled_in(ours, xeros)))
        and ours.quantity == xeros.quantity
        and ours.unit_amount == xeros.unit_amount
        and (ours.discount_rate or 0) == (xeros.discount_rate or 0)
        and ours.account_code == xeros.account_code
        and ours.tax_type == xeros.tax_type
        and ours.line_amount == xeros.line_amount
        and ours.tax_amount == xeros.tax_amount
        and (xeros.product_id is None or ours.product_id == xeros.product_id)
        and (not xeros.tracking or sorted(ours.tracking) == sorted(xeros.tracking))
    )


def _filled_in(ours: InvoiceLine, xeros: InvoiceLine) -> bool:
    """The description the forwarder gave a line the phone left without one (a product's name or
    ``FALLBACK_DESCRIPTION``): not a change made in Xero."""
    return ours.product_id is not None or xeros.description == FALLBACK_DESCRIPTION


async def apply_invoice_versions(
    database: Database, organisation_id: uuid.UUID, invoices: Sequence[wire.Invoice]
) -> int:
    """The mirror's word on the invoices phones made among ``invoices``: each one no upload is
    changing (an edit, a payment, a void on its way keeps the phone's view until it is settled)
    becomes Xero's version. Returns how many records phones see change."""
    if not invoices:
        return 0
    async with database.transaction() as session:
        await feed.lock_organisation(session, organisation_id)
        by_xero_id = await outbox.forwarded_invoices(session, organisation_id)
        wanted = {
            record_id: invoice
            for invoice in invoices
            if (record_id := by_xero_id.get(invoice.invoice_id.lower())) is not None
        }
        pending = await outbox.pending_invoice_uploads(session, organisation_id, wanted)
        settled = {record_id: invoice for record_id, invoice in wanted.items() if record_id not in pending}
        payloads = await feed.current_payloads(session, organisation_id, [("invoice", r) for r in settled])
        names = await Names.load(session, organisation_id, settled.values())
        changes = []
        for record_id, xero in settled.items():
            payload = payloads.get(("invoice", record_id))
            if payload is None:
                continue
            current = _invoice_decoder.decode(payload)
            version = names.version(xero, current)
            if version != current:
                changes.append(feed.Change("invoice", record_id, encode_entity(version)))
        await feed.publish(session, organisation_id, changes)
    return len(changes)


def _day(moment: dt.datetime | None) -> dt.date | None:
    return moment.date() if moment is not None else None


async def _customers_by_contact(
    session: AsyncSession, organisation_id: uuid.UUID, contact_ids: set[str]
) -> dict[str, str]:
    """Customer record ids by Xero ContactID (lower case), for the contacts Xero's invoices name."""
    if not contact_ids:
        return {}
    rows = await session.execute(
        select(MirrorRecord.xero_id, MirrorRecord.id).where(
            MirrorRecord.organisation_id == organisation_id,
            MirrorRecord.kind == "customer",
            MirrorRecord.xero_id.in_(sorted(contact_ids)),
        )
    )
    return {xero_id: str(record_id) for xero_id, record_id in rows if xero_id}


async def _products_by_code(
    session: AsyncSession, organisation_id: uuid.UUID, codes: set[str]
) -> dict[str, str]:
    """Product ids by code, for the codes Xero's lines name (products carry no index by code)."""
    if not codes:
        return {}
    found: dict[str, str] = {}
    payloads = await session.execute(
        select(SyncRecord.entity_id, SyncRecord.payload).where(
            SyncRecord.organisation_id == organisation_id,
            SyncRecord.entity == "product",
            SyncRecord.payload.is_not(None),
        )
    )
    for entity_id, payload in payloads:
        if payload is None:
            continue
        product = msgspec.json.decode(payload, type=Product)
        if product.code in codes:
            found[product.code] = entity_id
    return found
