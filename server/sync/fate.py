"""What the forwarder calls to report an upload's fate; each report reaches phones as a change.

    async with database.transaction() as session:
        await record_fate(session, organisation_id, upload_id, InXero(xero_id, invoice_number="INV-0042"))

``record_fate`` updates the upload row and republishes the record with its new ``sync`` state
(and, once in Xero, its ``xero_id``, invoice number and Xero's amounts) in the caller's
transaction. When an upload is resolved (in Xero, or held by a setting), uploads that were waiting
only for it become ``accepted``; when it fails for good, they keep waiting and say what for.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import SyncRecord
from server.db.sync_models import Upload, UploadDependency
from server.db.types import utcnow
from server.errors import NotFound
from server.sync import feed, outbox
from server.sync.feed import Change
from sync_protocol.entities import ENTITY_NAME, Entity, Invoice, RecordSync, encode_entity

InvoiceStatus = Literal["DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"]


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    """What Xero says about an invoice: its number, status and amounts."""

    status: InvoiceStatus
    amount_paid: Decimal
    amount_due: Decimal
    total: Decimal | None = None
    invoice_number: str = ""


@dataclass(frozen=True, slots=True)
class Forwarding:
    """The forwarder took the item and is sending it now."""


@dataclass(frozen=True, slots=True)
class InXero:
    xero_id: str
    invoice_number: str = ""
    facts: InvoiceFacts | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """Xero refused the item for good (``message`` is Xero's; ``field`` the mutation field)."""

    message: str
    field: str = ""


@dataclass(frozen=True, slots=True)
class Retrying:
    """A transient failure: the item goes again at ``at``. ``maybe_sent``: Xero may have it."""

    message: str
    at: datetime
    maybe_sent: bool


@dataclass(frozen=True, slots=True)
class Delayed:
    """Not sent (a 429, a paused connection): due again at ``at``, no attempt counted."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Held:
    """Kept on the server by a setting; ``reason`` says which."""

    reason: str


Fate = Forwarding | InXero | Failed | Retrying | Delayed | Held

_STATE_OF: dict[type[object], str] = {
    Forwarding: outbox.FORWARDING,
    InXero: outbox.IN_XERO,
    Failed: outbox.FAILED,
    Retrying: outbox.RETRYING,
    Delayed: outbox.ACCEPTED,
    Held: outbox.HELD,
}
_ENTITY_TYPES = {name: cls for cls, name in ENTITY_NAME.items()}


async def record_fate(session: AsyncSession, organisation_id: uuid.UUID, upload_id: int, fate: Fate) -> None:
    upload = await session.scalar(
        select(Upload).where(Upload.id == upload_id, Upload.organisation_id == organisation_id)
    )
    if upload is None or upload.state == outbox.REJECTED:
        raise NotFound(f"no accepted upload {upload_id} in this organisation", code="not_found")
    _apply_to_row(upload, fate)
    changes = [await _restamped(session, organisation_id, upload, fate)]
    if isinstance(fate, InXero | Held):
        changes += await _release_dependents(session, organisation_id, upload.id)
    if isinstance(fate, Failed):
        changes += await _block_dependents(session, organisation_id, upload, fate)
    await feed.publish(session, organisation_id, [c for c in changes if c is not None])


def _apply_to_row(upload: Upload, fate: Fate) -> None:
    upload.state = _STATE_OF[type(fate)]
    upload.updated_at = utcnow()
    if isinstance(fate, Forwarding):
        upload.attempts += 1
        return
    upload.claimed_by = ""
    upload.claim_expires_at = None
    if isinstance(fate, Retrying):
        upload.next_attempt_at = fate.at
        upload.last_error = fate.message[:4000]
        if not fate.maybe_sent:
            upload.sent_at = None
        return
    upload.sent_at = None
    if isinstance(fate, Delayed):
        upload.next_attempt_at = fate.at
        upload.attempts = max(0, upload.attempts - 1)
        return
    upload.next_attempt_at = None
    upload.last_error = ""
    upload.error_field = ""
    if isinstance(fate, Failed):
        upload.last_error = fate.message[:4000]
        upload.error_field = fate.field[:200]
    elif isinstance(fate, Held):
        upload.last_error = fate.reason[:4000]
    elif isinstance(fate, InXero):
        upload.xero_id = fate.xero_id
        if fate.facts is not None:
            upload.xero_number = fate.facts.invoice_number or fate.invoice_number
            upload.xero_total = str(fate.facts.total) if fate.facts.total is not None else ""
        elif fate.invoice_number:
            upload.xero_number = fate.invoice_number


def _sync_of(upload: Upload, fate: Fate) -> RecordSync | None:
    if isinstance(fate, Delayed):
        return None  # phones saw ``accepted``; nothing changed for them
    message, field = "", ""
    if isinstance(fate, Failed):
        message, field = fate.message, fate.field
    elif isinstance(fate, Retrying):
        message = fate.message
    elif isinstance(fate, Held):
        message = fate.reason
    return RecordSync(state=upload.state, mutation_id=upload.mutation_id, message=message, field=field)  # type: ignore[arg-type]


async def _restamped(
    session: AsyncSession, organisation_id: uuid.UUID, upload: Upload, fate: Fate
) -> Change | None:
    """The record with this upload's state, if the upload is still the record's latest."""
    record = await _current(session, organisation_id, upload.entity, upload.record_id)
    if record is None:
        return None
    latest = await outbox.latest_upload(session, organisation_id, upload.record_id)
    changes: dict[str, object] = {}
    sync = _sync_of(upload, fate)
    if latest is not None and latest.id == upload.id and sync is not None:
        changes["sync"] = sync
    if isinstance(fate, InXero):
        changes["xero_id"] = fate.xero_id
        if isinstance(record, Invoice):
            changes.update(_invoice_changes(fate))
    if not changes:
        return None
    updated = msgspec.structs.replace(record, **changes)
    return Change(upload.entity, upload.record_id, encode_entity(updated))


def _invoice_changes(fate: InXero) -> dict[str, object]:
    changes: dict[str, object] = {}
    number = fate.facts.invoice_number if fate.facts and fate.facts.invoice_number else fate.invoice_number
    if number:
        changes["invoice_number"] = number
    if fate.facts is not None:
        changes.update(
            status=fate.facts.status, amount_paid=fate.facts.amount_paid, amount_due=fate.facts.amount_due
        )
    return changes


async def _dependents(session: AsyncSession, upload_id: int) -> list[Upload]:
    return list(
        await session.scalars(
            select(Upload)
            .join(UploadDependency, UploadDependency.upload_id == Upload.id)
            .where(UploadDependency.depends_on_id == upload_id, Upload.state == outbox.WAITING)
        )
    )


async def _release_dependents(
    session: AsyncSession, organisation_id: uuid.UUID, upload_id: int
) -> list[Change | None]:
    released = []
    for dependent in await _dependents(session, upload_id):
        blocking = await session.scalar(
            select(func.count())
            .select_from(UploadDependency)
            .join(Upload, Upload.id == UploadDependency.depends_on_id)
            .where(UploadDependency.upload_id == dependent.id, Upload.state.not_in(outbox.RESOLVED))
        )
        if blocking == 0:
            dependent.state = outbox.ACCEPTED
            dependent.updated_at = utcnow()
            released.append(await _restamped(session, organisation_id, dependent, Forwarding()))
    return released


async def _block_dependents(
    session: AsyncSession, organisation_id: uuid.UUID, failed: Upload, fate: Failed
) -> list[Change | None]:
    """Dependants keep waiting; their records say for what, so the phone can show it."""
    notes: list[Change | None] = []
    for dependent in await _dependents(session, failed.id):
        record = await _current(session, organisation_id, dependent.entity, dependent.record_id)
        latest = await outbox.latest_upload(session, organisation_id, dependent.record_id)
        if record is None or latest is None or latest.id != dependent.id:
            continue
        message = f"waiting for {failed.entity} {failed.record_id}, which Xero refused: {fate.message}"
        sync = RecordSync(state="waiting", mutation_id=dependent.mutation_id, message=message[:4000])
        updated = msgspec.structs.replace(record, sync=sync)
        notes.append(Change(dependent.entity, dependent.record_id, encode_entity(updated)))
    return notes


async def _current(
    session: AsyncSession, organisation_id: uuid.UUID, entity: str, record_id: str
) -> Entity | None:
    payload = await session.scalar(
        select(SyncRecord.payload).where(
            SyncRecord.organisation_id == organisation_id,
            SyncRecord.entity == entity,
            SyncRecord.entity_id == record_id,
        )
    )
    if payload is None or entity not in _ENTITY_TYPES:
        return None
    return msgspec.json.decode(payload, type=_ENTITY_TYPES[entity])


async def record_invoice_facts(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    invoice_id: str,
    *,
    status: InvoiceStatus,
    amount_paid: Decimal,
    amount_due: Decimal,
    invoice_number: str = "",
) -> bool:
    """Xero-side facts about an uploaded invoice (paid elsewhere, voided in Xero, amount due).

    Returns whether phones see a change.
    """
    invoice = await _current(session, organisation_id, "invoice", invoice_id)
    if not isinstance(invoice, Invoice):
        raise NotFound(f"no invoice {invoice_id} in this organisation", code="not_found")
    updated = msgspec.structs.replace(
        invoice,
        status=status,
        amount_paid=amount_paid,
        amount_due=amount_due,
        invoice_number=invoice_number or invoice.invoice_number,
    )
    if updated == invoice:
        return False
    await feed.publish(session, organisation_id, [Change("invoice", invoice_id, encode_entity(updated))])
    return True


async def current_record(
    session: AsyncSession, organisation_id: uuid.UUID, entity: str, record_id: str
) -> Entity | None:
    """The record as phones have it now (the feed's latest payload), or None."""
    return await _current(session, organisation_id, entity, record_id)


async def xero_id_of(
    session: AsyncSession, organisation_id: uuid.UUID, entity: str, record_id: str
) -> str | None:
    """The Xero id of a record (mirror or uploaded-and-forwarded), for references the forwarder sends."""
    record = await _current(session, organisation_id, entity, record_id)
    return record.xero_id if record else None
