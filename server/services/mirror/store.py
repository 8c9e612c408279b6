"""Writing pulled records into the mirror and the feed, in one transaction per batch.

A record whose mapped entity is byte-for-byte what the mirror holds is left alone: no write, no
feed change. New ids are deterministic (uuid5 of tenant, kind and Xero id) so a record keeps its id
even if its mirror row is lost, and a row created ahead of time (a phone's customer, once Xero has
given it an id) is reused with its own id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.mirror_models import MirrorCursor, MirrorRecord
from server.db.types import utcnow
from server.sync import feed
from server.xero.mapping import Mapped
from sync_protocol.entities import encode_entity

_NAMESPACE = uuid.UUID("6f1f3c2e-6a55-4c53-9d0e-8a0d5c3b1e21")
_CHUNK = 500


def entity_id_for(tenant_id: str, kind: str, xero_id: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{tenant_id.lower()}:{kind}:{xero_id.lower()}")


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
    for start in range(0, len(xero_ids), _CHUNK):
        chunk = list(xero_ids[start : start + _CHUNK])
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
