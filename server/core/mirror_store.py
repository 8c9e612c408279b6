"""Writing pulled records into the mirror and the feed, in one transaction per batch.

A record whose mapped entity is byte-for-byte what the mirror holds is left alone: no write, no
feed change. New ids are deterministic (uuid5 of organisation, tenant, kind and Xero id) so a
record keeps its id even if its mirror row is lost, two organisations mirroring one tenant get ids
of their own, and a row created ahead of time (a phone's customer, once Xero has given it an id)
is reused with its own id. Rows are keyed (organisation, kind, id), like the feed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy import String, and_, bindparam, delete, exists, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import feed, merge
from server.core.states import OPEN_STATES, PENDING_STATES
from server.db.chunks import chunks
from server.db.mirror_models import MirrorCursor, MirrorRecord
from server.db.models import SyncRecord
from server.db.sync_models import Upload
from server.db.types import utcnow
from sync_protocol import entities
from sync_protocol.entities import Customer, Payment, Product, encode_entity
from sync_protocol.messages import UpsertCustomer

_NAMESPACE = uuid.UUID("6f1f3c2e-6a55-4c53-9d0e-8a0d5c3b1e21")


@dataclass(frozen=True)
class Mapped:
    """One Xero record as ledgersync stores it: the entity phones get, and whether it is live."""

    xero_id: str
    entity: entities.Entity
    live: bool
    xero_updated_at: datetime | None


def entity_id_for(organisation_id: uuid.UUID, tenant_id: str, kind: str, xero_id: str) -> uuid.UUID:
    """The ledgersync id of a record first seen in a pull, derived within its organisation.

    Rows mirrored before ids named the organisation keep the ids they have (pulls reuse a row's id).
    """
    return uuid.uuid5(_NAMESPACE, f"{organisation_id}:{tenant_id.lower()}:{kind}:{xero_id.lower()}")


@dataclass
class Counts:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0

    def add(self, other: Counts) -> None:
        self.fetched += other.fetched
        self.created += other.created
        self.updated += other.updated
        self.deleted += other.deleted


async def existing_rows(
    session: AsyncSession, organisation_id: uuid.UUID, kind: str, xero_ids: Sequence[str] | None
) -> dict[str, MirrorRecord]:
    """Mirror rows of ``kind`` by Xero id: those named, or all of them (``xero_ids`` None)."""
    base = select(MirrorRecord).where(
        MirrorRecord.organisation_id == organisation_id, MirrorRecord.kind == kind
    )
    if xero_ids is None:
        return {row.xero_id: row for row in await session.scalars(base)}
    found: dict[str, MirrorRecord] = {}
    for chunk in chunks(xero_ids):
        for row in await session.scalars(base.where(MirrorRecord.xero_id.in_(chunk))):
            found[row.xero_id] = row
    return found


async def apply(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    tenant_id: str,
    kind: str,
    records: Sequence[Mapped],
    existing: dict[str, MirrorRecord],
    *,
    vanished: Sequence[MirrorRecord] = (),
) -> Counts:
    """Store ``records`` (mapped with their final ids) and publish what changed; ``vanished`` rows
    (gone from a full pull) become tombstones."""
    counts = Counts(fetched=len(records))
    changes: list[feed.Change] = []
    now = utcnow()
    local = await _phone_versions(session, organisation_id, kind, [m.entity.id for m in records])
    # Customer edits merge field by field; a product edit replaces the whole item (no merge).
    edits = (
        await merge.pending_edits(session, organisation_id, list(local))
        if local and kind == "customer"
        else {}
    )
    policy = await merge.policy_of(session, organisation_id) if edits else "xero"
    for mapped in records:
        payload = encode_entity(mapped.entity)
        row = existing.get(mapped.xero_id)
        if row is None:
            row = MirrorRecord(
                id=uuid.UUID(mapped.entity.id),
                organisation_id=organisation_id,
                tenant_id=tenant_id.lower(),
                kind=kind,
                xero_id=mapped.xero_id,
                payload=payload,
                removed=not mapped.live,
                xero_updated_at=mapped.xero_updated_at,
                pulled_at=now,
            )
            session.add(row)
            existing[mapped.xero_id] = row
            if mapped.live:
                counts.created += 1
        elif row.payload == payload and row.removed == (not mapped.live):
            continue
        else:
            if mapped.live and row.removed:
                counts.created += 1  # back from the archive: new to phones
            elif not mapped.live and not row.removed:
                counts.deleted += 1
            elif mapped.live:
                counts.updated += 1
            row.payload = payload
            row.removed = not mapped.live
            row.xero_updated_at = mapped.xero_updated_at
            row.pulled_at = now
        if mapped.entity.id in local:
            pending = edits.get(mapped.entity.id, [])
            held_back, published = _with_phone_state(mapped, local[mapped.entity.id], pending, policy)
            if not held_back:
                changes.append(feed.Change(kind, mapped.entity.id, published))
            continue
        changes.append(feed.Change(kind, mapped.entity.id, payload if mapped.live else None))
    for row in vanished:
        if not row.removed:
            row.removed = True
            row.pulled_at = now
            counts.deleted += 1
            changes.append(feed.Change(kind, str(row.id), None))
    await feed.publish(session, organisation_id, changes)
    return counts


async def forget_mirror(session: AsyncSession, organisation_id: uuid.UUID) -> None:
    """The organisation now mirrors another tenant: every record of the old one is gone for phones."""
    rows = await session.scalars(select(MirrorRecord).where(MirrorRecord.organisation_id == organisation_id))
    await feed.publish(session, organisation_id, [feed.Change(row.kind, str(row.id), None) for row in rows])
    await session.execute(delete(MirrorRecord).where(MirrorRecord.organisation_id == organisation_id))
    await session.execute(delete(MirrorCursor).where(MirrorCursor.organisation_id == organisation_id))


# Upload states in which the phone's version of a record is newer than Xero's. A payment's only while
# its upload is on its way: once Xero refused a phone's deletion of it, Xero's payment is the truth.
_LOCAL_WINS = OPEN_STATES
_PAYMENT_LOCAL_WINS = PENDING_STATES
# Records phones create and edit that the mirror also pulls: their upload's state stays on them.
_PHONE_MADE: dict[str, type[Customer] | type[Product] | type[Payment]] = {
    "customer": Customer,
    "product": Product,
    "payment": Payment,
}
PhoneMade = Customer | Product | Payment


async def _phone_versions(
    session: AsyncSession, organisation_id: uuid.UUID, kind: str, ids: Sequence[str]
) -> dict[str, PhoneMade]:
    """Customers (or products, payments) among ``ids`` a phone uploaded, as phones have them now.

    Driven by the ids: each one is a primary-key probe of the feed and a probe of
    ``ix_uploads_organisation_id_entity_record_id``. On PostgreSQL the ids come as one array
    (``unnest``): with an IN list of 500 parameters, a planner whose statistics lag a bulk load
    (a first pull) scanned every customer of the organisation against the list, 7 s a call at
    20,000 customers; with the array the worst plan left is one pass over the index.
    """
    if kind not in _PHONE_MADE or not ids:
        return {}
    entity_type = _PHONE_MADE[kind]
    postgres = session.get_bind().dialect.name == "postgresql"
    found: dict[str, PhoneMade] = {}
    for chunk in chunks(ids):
        uploaded = exists().where(
            Upload.organisation_id == organisation_id,
            Upload.entity == kind,
            Upload.record_id == SyncRecord.entity_id,
        )
        feed_row = (SyncRecord.organisation_id == organisation_id, SyncRecord.entity == kind)
        query = select(SyncRecord.entity_id, SyncRecord.payload)
        if postgres:
            wanted = (
                func.unnest(bindparam("wanted", list(chunk), type_=postgresql.ARRAY(String)))
                .table_valued("id")
                .render_derived(name="wanted")
            )
            query = query.select_from(wanted).join(
                SyncRecord, and_(*feed_row, SyncRecord.entity_id == wanted.c.id)
            )
        else:
            query = query.where(*feed_row, SyncRecord.entity_id.in_(chunk))
        rows = await session.execute(query.where(SyncRecord.payload.is_not(None), uploaded))
        for entity_id, payload in rows:
            if payload is not None:
                found[entity_id] = msgspec.json.decode(payload, type=entity_type)
    return found


def _with_phone_state(
    mapped: Mapped,
    local: PhoneMade,
    pending: Sequence[UpsertCustomer] = (),
    policy: merge.Policy = "xero",
) -> tuple[bool, bytes | None]:
    """(held back, payload to publish) for a pulled customer (or product) a phone uploaded.

        While the phone's upload is still on its way (or refused), phones see Xero's version with the
        phone's pending edits merged in, field by field (``server/core/merge.py``): neither side's
        edit is lost while the other is in flight. A pending upload without a base (a create not yet
        in Xero, or one stored before edits carried their base) holds Xero's version back. Once it
        is settled, Xero's version goes out with the upload's ``sync`` state kept. A product's pending
    upload (no merge: it replaces the whole item) holds Xero's version back. A payment's too (a
    deletion on its way); a settled one goes out as Xero has it (amount, status) with its ``sync``.
    """
    if isinstance(local, Payment):
        if local.sync is not None and local.sync.state in _PAYMENT_LOCAL_WINS:
            return True, None
        assert isinstance(mapped.entity, Payment)
        return False, encode_entity(msgspec.structs.replace(mapped.entity, sync=local.sync))
    if local.sync is not None and local.sync.state in _LOCAL_WINS:
        if not pending or not mapped.live:
            return True, None
        assert isinstance(mapped.entity, Customer)
        merged = merge.with_pending(mapped.entity, pending, policy)
        return False, encode_entity(msgspec.structs.replace(merged, sync=local.sync))
    if not mapped.live:
        return False, None
    assert isinstance(mapped.entity, Customer | Product)
    return False, encode_entity(msgspec.structs.replace(mapped.entity, sync=local.sync))


async def link_phone_record(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    tenant_id: str,
    kind: str,
    record_id: str,
    xero_id: str,
    payload: bytes,
) -> None:
    """A record a phone made is now in Xero: the mirror knows it by its Xero id under the phone's id,
    so later pulls update it instead of adding a second copy.

    Everything is looked up within the organisation: a phone of another organisation that chose
    the same id, or another organisation mirroring the same tenant, is never touched.
    """
    key = xero_id.lower()
    phone_id = uuid.UUID(record_id)
    scope = (MirrorRecord.organisation_id == organisation_id, MirrorRecord.kind == kind)
    row = await session.scalar(select(MirrorRecord).where(*scope, MirrorRecord.xero_id == key))
    if row is not None:
        if row.id == phone_id:
            return
        # A pull saw the new contact before the forwarder recorded its id: retire that copy.
        await feed.publish(session, organisation_id, [feed.Change(kind, str(row.id), None)])
        await session.delete(row)
        await session.flush()
    mine = await session.scalar(select(MirrorRecord).where(*scope, MirrorRecord.id == phone_id))
    if mine is not None:
        # The phone's record was linked to another Xero record before (re-created in Xero).
        mine.tenant_id, mine.xero_id, mine.payload = tenant_id.lower(), key, payload
        mine.removed, mine.xero_updated_at, mine.pulled_at = False, None, utcnow()
        return
    session.add(
        MirrorRecord(
            id=phone_id,
            organisation_id=organisation_id,
            tenant_id=tenant_id.lower(),
            kind=kind,
            xero_id=key,
            payload=payload,
            removed=False,
            xero_updated_at=None,
            pulled_at=utcnow(),
        )
    )
