"""After Xero refuses an edit, phones get Xero's version of the record back.

An edit Xero refuses (an invoice with a payment allocated, a paid or voided one) would otherwise
leave the phone's refused amounts on the server and on every phone, with no way to correct them
(a PAID invoice is not editable). The truth is Xero's: the forwarder reads the refused records back
by id (``GET /Invoices/{id}``, ``GET /Contacts/{id}``) and publishes them as Xero has them, with the
upload's ``failed`` state and Xero's message kept in ``sync``. Only while the refused upload is still
the record's latest: a correction pushed meanwhile is the phone's newer word.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from decimal import Decimal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import feed, outbox
from server.core.fate import current_record
from server.db.mirror_models import MirrorRecord
from server.db.models import SyncRecord
from server.db.sync_models import Upload
from server.xero import wire
from server.xero.client import XeroClient
from server.xero.errors import XeroError
from server.xero_link import mapping
from sync_protocol.entities import (
    Customer,
    Entity,
    Invoice,
    InvoiceLine,
    LineAmountType,
    Product,
    encode_entity,
)
from sync_protocol.messages import CreatePayment
from sync_protocol.money import to_decimal

log = logging.getLogger("ledgersync.forwarding")

_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
_LINE_AMOUNT_TYPES: dict[str, LineAmountType] = {
    "Exclusive": "Exclusive",
    "Inclusive": "Inclusive",
    "NoTax": "NoTax",
}


class _Line(wire.Wire):
    description: str = ""
    quantity: Decimal = Decimal(0)
    unit_amount: Decimal = Decimal(0)
    item_code: str | None = None
    account_code: str | None = None
    tax_type: str | None = None
    tax_amount: Decimal = Decimal(0)
    line_amount: Decimal = Decimal(0)
    discount_rate: Decimal | None = None


class _Invoice(wire.Invoice):
    """An invoice as ``GET /Invoices/{id}`` answers it: with its lines and dates."""

    date: wire.XeroDateTime | None = None
    due_date: wire.XeroDateTime | None = None
    line_amount_types: str = ""
    currency_code: str = ""
    line_items: list[_Line] = msgspec.field(default_factory=list)


class _Invoices(wire.Wire):
    invoices: list[_Invoice] = msgspec.field(default_factory=list)


class XeroVersions:
    """Xero's current records of refused edits, read before the refusals are recorded, so that
    the upload's ``failed`` state and Xero's version reach phones in the same change."""

    def __init__(self, entity: str, refused: Sequence[tuple[int, str, str]]) -> None:
        self._entity = entity
        self._refused = list(refused)  # (upload id, record id, Xero id)
        self._fetched: dict[int, wire.Contact | _Invoice] = {}

    async def fetch(self, client: XeroClient) -> XeroVersions:
        """One GET by id per record; a record Xero cannot be asked for now stays as it is."""
        for upload_id, _, xero_id in self._refused:
            try:
                if self._entity == "invoice":
                    answer = await client.get(f"/Invoices/{xero_id}", _Invoices, params={"unitdp": "4"})
                    if answer.invoices:
                        self._fetched[upload_id] = answer.invoices[0]
                elif self._entity == "customer":
                    contacts = await client.get(f"/Contacts/{xero_id}", wire.Contacts)
                    if contacts.contacts:
                        self._fetched[upload_id] = contacts.contacts[0]
            except XeroError as exc:
                log.warning("could not read a refused record back from Xero", extra={"error": exc.message})
        return self

    async def publish(self, session: AsyncSession, organisation_id: uuid.UUID, failed: set[int]) -> int:
        """After the fates are recorded (same transaction): Xero's version of each record whose
        refused upload (in ``failed``) is still its latest. Returns how many records changed."""
        changes = []
        for upload_id, record_id, _ in self._refused:
            found = self._fetched.get(upload_id)
            if found is None or upload_id not in failed:
                continue
            latest = await outbox.latest_upload(session, organisation_id, record_id)
            if latest is None or latest.id != upload_id:
                continue
            current = await current_record(session, organisation_id, self._entity, record_id)
            version: Entity | None = None
            if isinstance(found, _Invoice) and isinstance(current, Invoice):
                version = await _invoice_version(session, organisation_id, found, current)
            elif isinstance(found, wire.Contact) and isinstance(current, Customer):
                mapped = mapping.customer_of(found, record_id)
                if not mapped.live:  # archived in Xero meanwhile: phones drop it
                    changes.append(feed.Change(self._entity, record_id, None))
                    continue
                version = msgspec.structs.replace(mapped.entity, sync=current.sync)
            if version is not None:
                changes.append(feed.Change(self._entity, record_id, encode_entity(version)))
        return await feed.publish(session, organisation_id, changes)


async def _invoice_version(
    session: AsyncSession, organisation_id: uuid.UUID, xero: _Invoice, current: Invoice
) -> Invoice:
    """Xero's invoice in ledgersync's terms, under the record's own id and ``sync``."""
    products = await _products_by_code(
        session, organisation_id, {line.item_code for line in xero.line_items if line.item_code}
    )
    lines = [
        InvoiceLine(
            description=line.description,
            product_id=products.get(line.item_code) if line.item_code else None,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            discount_rate=line.discount_rate,
            account_code=line.account_code,
            tax_type=line.tax_type,
            line_amount=line.line_amount,
            tax_amount=line.tax_amount,
        )
        for line in xero.line_items
    ]
    customer_id = current.customer_id
    contact_id = xero.contact.contact_id.lower() if xero.contact else ""
    customer = await current_record(session, organisation_id, "customer", customer_id)
    if contact_id and (customer is None or (customer.xero_id or "").lower() != contact_id):
        other = await session.scalar(
            select(MirrorRecord.id).where(
                MirrorRecord.organisation_id == organisation_id,
                MirrorRecord.kind == "customer",
                MirrorRecord.xero_id == contact_id,
            )
        )
        customer_id = str(other) if other is not None else customer_id
    status = xero.status if xero.status in _STATUSES else current.status
    paid, due = xero.amount_paid, xero.amount_due
    local = await _local_payments(session, organisation_id, current.id)
    if local and status == "AUTHORISED":
        # Payments phones took on it are still on their way: phones keep seeing them as made.
        paid, due = paid + local, max(Decimal("0.00"), due - local)
        status = "PAID" if due == 0 else status
    return msgspec.structs.replace(
        current,
        xero_id=xero.invoice_id or current.xero_id,
        invoice_number=xero.invoice_number or current.invoice_number,
        customer_id=customer_id,
        reference=xero.reference,
        date=_day(xero.date) or current.date,
        due_date=_day(xero.due_date) if xero.due_date else current.due_date,
        currency=xero.currency_code or current.currency,
        line_amount_type=_LINE_AMOUNT_TYPES.get(xero.line_amount_types, current.line_amount_type),
        lines=lines,
        sub_total=xero.sub_total,
        total_tax=xero.total_tax,
        total=xero.total,
        amount_paid=paid,
        amount_due=due,
        status=status,
    )


async def _local_payments(session: AsyncSession, organisation_id: uuid.UUID, invoice_id: str) -> Decimal:
    """The sum of phone payments on the invoice still on their way to Xero."""
    pending = (await outbox.pending_invoice_uploads(session, organisation_id, [invoice_id])).get(invoice_id)
    if not pending:
        return Decimal(0)
    requests = await session.scalars(
        select(Upload.request).where(
            Upload.organisation_id == organisation_id,
            Upload.id.in_(sorted(pending)),
            Upload.kind == "create_payment",
        )
    )
    total = Decimal(0)
    for request in requests:
        mutation = msgspec.json.decode(request, type=CreatePayment)
        total += to_decimal(mutation.payment.amount)
    return total


def _day(moment: dt.datetime | None) -> dt.date | None:
    return moment.date() if moment is not None else None


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
