"""What the forwarder calls to report an upload's fate; each report reaches phones as a change.

    async with database.transaction() as session:
        for item in await forwardable_uploads(session, organisation_id):
            await record_fate(session, organisation_id, item.upload_id, Forwarding())
    ... send to Xero ...
    async with database.transaction() as session:
        await record_fate(session, organisation_id, upload_id, InXero(xero_id, invoice_number="INV-0042"))

``record_fate`` updates the upload row and republishes the record with its new ``sync`` state
(and, once in Xero, its ``xero_id`` and invoice number) in the caller's transaction. When an
upload reaches Xero, uploads that were waiting only for it become ``accepted``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Forwarding:
    """The forwarder took the item and is sending it now."""


@dataclass(frozen=True, slots=True)
class InXero:
    xero_id: str
    invoice_number: str = ""


@dataclass(frozen=True, slots=True)
class Failed:
    """Xero refused the item (``message`` is Xero's); a later retry may report another fate."""

    message: str


Fate = Forwarding | InXero | Failed

_STATE_OF: dict[type[object], str] = {
    Forwarding: outbox.FORWARDING,
    InXero: outbox.IN_XERO,
    Failed: outbox.FAILED,
}
_ENTITY_TYPES = {name: cls for cls, name in ENTITY_NAME.items()}


async def record_fate(session: AsyncSession, organisation_id: uuid.UUID, upload_id: int, fate: Fate) -> None:
    upload = await session.scalar(
        select(Upload).where(Upload.id == upload_id, Upload.organisation_id == organisation_id)
    )
    if upload is None or upload.state == outbox.REJECTED:
        raise NotFound(f"no accepted upload {upload_id} in this organisation", code="not_found")
    upload.state = _STATE_OF[type(fate)]
    upload.updated_at = utcnow()
    if isinstance(fate, Forwarding):
        upload.attempts += 1
    if isinstance(fate, Failed):
        upload.last_error = fate.message[:4000]
    if isinstance(fate, InXero):
        upload.xero_id = fate.xero_id
    changes = [await _restamped(session, organisation_id, upload, fate)]
    if isinstance(fate, InXero):
        changes += await _release_dependents(session, organisation_id, upload.id)
    await feed.publish(session, organisation_id, [c for c in changes if c is not None])


async def _restamped(
    session: AsyncSession, organisation_id: uuid.UUID, upload: Upload, fate: Fate
) -> Change | None:
    """The record with this upload's state, if the upload is still the record's latest."""
    record = await _current(session, organisation_id, upload.entity, upload.record_id)
    if record is None:
        return None
    latest = await session.scalar(
        select(func.max(Upload.id)).where(
            Upload.organisation_id == organisation_id,
            Upload.record_id == upload.record_id,
            Upload.state != outbox.REJECTED,
        )
    )
    changes: dict[str, object] = {}
    if latest == upload.id:
        message = fate.message if isinstance(fate, Failed) else ""
        changes["sync"] = RecordSync(state=upload.state, mutation_id=upload.mutation_id, message=message)  # type: ignore[arg-type]
    if isinstance(fate, InXero):
        changes["xero_id"] = fate.xero_id
        if isinstance(record, Invoice) and fate.invoice_number:
            changes["invoice_number"] = fate.invoice_number
    if not changes:
        return None
    updated = msgspec.structs.replace(record, **changes)
    return Change(upload.entity, upload.record_id, encode_entity(updated))


async def _release_dependents(
    session: AsyncSession, organisation_id: uuid.UUID, upload_id: int
) -> list[Change | None]:
    waiting = await session.scalars(
        select(Upload)
        .join(UploadDependency, UploadDependency.upload_id == Upload.id)
        .where(UploadDependency.depends_on_id == upload_id, Upload.state == outbox.WAITING)
    )
    released = []
    for dependent in list(waiting):
        blocking = await session.scalar(
            select(func.count())
            .select_from(UploadDependency)
            .join(Upload, Upload.id == UploadDependency.depends_on_id)
            .where(UploadDependency.upload_id == dependent.id, Upload.state != outbox.IN_XERO)
        )
        if blocking == 0:
            dependent.state = outbox.ACCEPTED
            dependent.updated_at = utcnow()
            released.append(await _restamped(session, organisation_id, dependent, Forwarding()))
    return released


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
    status: Literal["DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"],
    amount_paid: Decimal,
    amount_due: Decimal,
) -> None:
    """Xero-side facts about an uploaded invoice (paid elsewhere, voided in Xero, amount due)."""
    invoice = await _current(session, organisation_id, "invoice", invoice_id)
    if not isinstance(invoice, Invoice):
        raise NotFound(f"no invoice {invoice_id} in this organisation", code="not_found")
    updated = msgspec.structs.replace(invoice, status=status, amount_paid=amount_paid, amount_due=amount_due)
    await feed.publish(session, organisation_id, [Change("invoice", invoice_id, encode_entity(updated))])


async def xero_id_of(
    session: AsyncSession, organisation_id: uuid.UUID, entity: str, record_id: str
) -> str | None:
    """The Xero id of a record (mirror or uploaded-and-forwarded), for references the forwarder sends."""
    record = await _current(session, organisation_id, entity, record_id)
    return record.xero_id if record else None
