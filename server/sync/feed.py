"""The change feed: how writers publish record states and how pulls read them in version order.

Invariant (the one everything else relies on): **a change never becomes visible with a version at
or below a cursor a pull has already handed out.**

Why it holds. Every writer takes its versions with
``UPDATE sync_counters SET version = version + n … RETURNING version`` inside the same transaction
that writes the records. That UPDATE locks the organisation's counter row until the writer commits
or rolls back, so a second writer of the same organisation waits, and gets higher versions only
after the first is visible. Versions therefore become visible in increasing order, with no
visible gap below a committed version. A pull reads the rows after its cursor and the counter in
one snapshot (REPEATABLE READ on PostgreSQL; a single read transaction on SQLite, whose writers are
serialised anyway). The cursor it returns is either the last row it sent, or the counter's value in
that snapshot; every version at or below it was committed and visible to the snapshot, so no later
commit can land below it.

Records are rows, not a log: an edit re-stamps the record's one row with a new version. A deleted
record keeps a row with ``payload`` NULL (a tombstone) until ``purge_tombstones`` removes it and
raises the organisation's *horizon*; a cursor below the horizon can no longer be served
incrementally and gets :class:`ResyncRequired`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import SyncCounter, SyncRecord, SyncRecordEarlier
from server.db.types import utcnow

# Bound the size of one IN (...) list; SQLite allows 32766 parameters, asyncpg 32767.
_KEY_CHUNK = 500
# The records phones edit: what they were before an edit is kept (``SyncRecordEarlier``).
_KEEPS_EARLIER = frozenset({"customer", "invoice"})


class ResyncRequired(Exception):
    """The cursor cannot be served incrementally: the client must start again from a snapshot."""

    def __init__(self, cursor: int, horizon: int, latest: int) -> None:
        super().__init__(f"cursor {cursor} is outside the servable range [{horizon}, {latest}]")
        self.cursor = cursor
        self.horizon = horizon
        self.latest = latest


@dataclass(frozen=True, slots=True)
class Change:
    """A record's new state. ``payload`` is its wire form as JSON bytes; ``None`` means deleted."""

    entity: str
    entity_id: str
    payload: bytes | None


@dataclass(frozen=True, slots=True)
class FeedRow:
    entity: str
    entity_id: str
    version: int
    payload: bytes | None

    @property
    def deleted(self) -> bool:
        return self.payload is None


@dataclass(frozen=True, slots=True)
class FeedPage:
    rows: list[FeedRow]
    cursor: int
    has_more: bool


def _insert_for(session: AsyncSession):  # type: ignore[no-untyped-def]
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def current_payloads(
    session: AsyncSession, organisation_id: uuid.UUID, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], bytes | None]:
    """The feed's payloads of (entity, record id) pairs (None: a tombstone); missing keys are absent."""
    found: dict[tuple[str, str], bytes | None] = {}
    # One entity per query: ``entity = ? AND entity_id IN (...)`` walks the unique index; a
    # row-value ``(entity, entity_id) IN (...)`` made SQLite scan the organisation's every row.
    by_entity: dict[str, list[str]] = {}
    for entity, entity_id in dict.fromkeys(keys):
        by_entity.setdefault(entity, []).append(entity_id)
    for entity, ids in by_entity.items():
        for start in range(0, len(ids), _KEY_CHUNK):
            result = await session.execute(
                select(SyncRecord.entity_id, SyncRecord.payload).where(
                    SyncRecord.organisation_id == organisation_id,
                    SyncRecord.entity == entity,
                    SyncRecord.entity_id.in_(ids[start : start + _KEY_CHUNK]),
                )
            )
            for entity_id, payload in result:
                found[(entity, entity_id)] = payload
    return found


async def _take_versions(session: AsyncSession, organisation_id: uuid.UUID, count: int) -> int:
    """Reserves ``count`` versions; returns the last. Locks the counter row until commit."""
    insert = _insert_for(session)
    await session.execute(
        insert(SyncCounter)
        .values(organisation_id=organisation_id, version=0, horizon=0)
        .on_conflict_do_nothing(index_elements=["organisation_id"])
    )
    last: int = (
        await session.execute(
            update(SyncCounter)
            .where(SyncCounter.organisation_id == organisation_id)
            .values(version=SyncCounter.version + count)
            .returning(SyncCounter.version)
        )
    ).scalar_one()
    return last


def _meaningful(changes: Iterable[Change], current: dict[tuple[str, str], bytes | None]) -> list[Change]:
    """Drops changes that would tell a phone nothing new; the last change of a key wins."""
    latest: dict[tuple[str, str], Change] = {}
    for change in changes:
        latest[(change.entity, change.entity_id)] = change
    kept = []
    for key, change in latest.items():
        if key not in current:
            if change.payload is not None:  # a deletion of a record no phone ever saw is no news
                kept.append(change)
        elif current[key] != change.payload:
            kept.append(change)
    return kept


async def publish(session: AsyncSession, organisation_id: uuid.UUID, changes: Iterable[Change]) -> int:
    """Writes record states into the feed inside the caller's transaction.

    Unchanged records are skipped, so an idle mirror pull wakes no phone. Returns how many
    records got a new version.
    """
    changes = list(changes)
    if not changes:
        return 0
    keys = list(dict.fromkeys((c.entity, c.entity_id) for c in changes))
    current = await current_payloads(session, organisation_id, keys)
    fresh = _meaningful(changes, current)
    if not fresh:
        return 0
    last = await _take_versions(session, organisation_id, len(fresh))
    first = last - len(fresh) + 1
    now = utcnow()
    earlier = [
        {
            "organisation_id": organisation_id,
            "entity": change.entity,
            "entity_id": change.entity_id,
            "replaced_at": first + offset,
            "payload": before,
            "changed_at": now,
        }
        for offset, change in enumerate(fresh)
        if change.entity in _KEEPS_EARLIER
        and (before := current.get((change.entity, change.entity_id))) is not None
        and _edited(before, change.payload)
    ]
    if earlier:
        await session.execute(_insert_for(session)(SyncRecordEarlier).on_conflict_do_nothing(), earlier)
    rows = [
        {
            "organisation_id": organisation_id,
            "entity": change.entity,
            "entity_id": change.entity_id,
            "version": first + offset,
            "created_version": first + offset,
            "payload": change.payload,
            "changed_at": now,
        }
        for offset, change in enumerate(fresh)
    ]
    # One statement, many parameter sets (executemany): compiled once and cached, where a
    # multi-row VALUES list was compiled afresh for every batch size.
    upsert = _upsert_for(session)
    for start in range(0, len(rows), _KEY_CHUNK):
        await session.execute(upsert, rows[start : start + _KEY_CHUNK])
    return len(fresh)


def _edited(before: bytes, after: bytes | None) -> bool:
    """Whether a change alters the record itself, not only its ``sync`` stamps (an upload's state)."""
    if after is None:
        return False  # a record gone: nobody edits it any more
    old, new = json.loads(before), json.loads(after)
    if isinstance(old, dict) and isinstance(new, dict):
        old.pop("sync", None)
        new.pop("sync", None)
    return bool(old != new)


async def payload_as_of(
    session: AsyncSession, organisation_id: uuid.UUID, entity: str, entity_id: str, cursor: int
) -> bytes | None:
    """The record as a client whose cursor is ``cursor`` holds it (None: a tombstone, or unknown).

    The payload the first edit after ``cursor`` replaced, else the current one; for a record created
    after ``cursor``, its first state. Stamps (``sync``) may be later ones: only edits are kept.
    """
    earlier = await session.scalar(
        select(SyncRecordEarlier.payload)
        .where(
            SyncRecordEarlier.organisation_id == organisation_id,
            SyncRecordEarlier.entity == entity,
            SyncRecordEarlier.entity_id == entity_id,
            SyncRecordEarlier.replaced_at > cursor,
        )
        .order_by(SyncRecordEarlier.replaced_at)
        .limit(1)
    )
    if earlier is not None:
        return bytes(earlier)
    return (await current_payloads(session, organisation_id, [(entity, entity_id)])).get((entity, entity_id))


async def purge_earlier(session: AsyncSession, older_than: datetime) -> int:
    """Forgets what records were before edits made before ``older_than`` (kept as long as tombstones:
    an app whose cursor is older gets a replacement pull anyway)."""
    result = await session.execute(delete(SyncRecordEarlier).where(SyncRecordEarlier.changed_at < older_than))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _upsert_for(session: AsyncSession) -> Any:
    statement = _insert_for(session)(cast(Table, SyncRecord.__table__))
    return statement.on_conflict_do_update(
        index_elements=["organisation_id", "entity", "entity_id"],
        set_={
            "version": statement.excluded.version,
            # A record that comes back after a tombstone is new again to every client.
            "created_version": case(
                (SyncRecord.payload.is_(None), statement.excluded.version),
                else_=SyncRecord.created_version,
            ),
            "payload": statement.excluded.payload,
            "changed_at": statement.excluded.changed_at,
        },
    )


async def counter(session: AsyncSession, organisation_id: uuid.UUID) -> tuple[int, int]:
    """(latest version, horizon) as this session's snapshot sees them."""
    row = (
        await session.execute(
            select(SyncCounter.version, SyncCounter.horizon).where(
                SyncCounter.organisation_id == organisation_id
            )
        )
    ).one_or_none()
    return (row.version, row.horizon) if row else (0, 0)


async def read(session: AsyncSession, organisation_id: uuid.UUID, after: int, limit: int) -> FeedPage:
    """Records changed after ``after``, oldest version first. ``after=0`` starts a snapshot.

    Call inside one snapshot (``Database.snapshot()``) so rows and counter agree.
    """
    latest, horizon = await counter(session, organisation_id)
    if after != 0 and (after < horizon or after > latest):
        raise ResyncRequired(after, horizon, latest)
    query = (
        select(SyncRecord.entity, SyncRecord.entity_id, SyncRecord.version, SyncRecord.payload)
        .where(SyncRecord.organisation_id == organisation_id, SyncRecord.version > after)
        .order_by(SyncRecord.version)
        .limit(limit + 1)
    )
    if after == 0:
        # A phone starting from nothing has nothing to delete.
        query = query.where(SyncRecord.payload.is_not(None))
    rows = [FeedRow(*row) for row in await session.execute(query)]
    has_more = len(rows) > limit
    if has_more:
        rows = rows[:limit]
        return FeedPage(rows, rows[-1].version, True)
    return FeedPage(rows, max(after, latest), False)


async def purge_tombstones(session: AsyncSession, organisation_id: uuid.UUID, older_than: datetime) -> int:
    """Removes tombstones changed before ``older_than`` and raises the horizon past them."""
    newest_purged: int | None = (
        await session.execute(
            select(func.max(SyncRecord.version)).where(
                SyncRecord.organisation_id == organisation_id,
                SyncRecord.payload.is_(None),
                SyncRecord.changed_at < older_than,
            )
        )
    ).scalar_one()
    if newest_purged is None:
        return 0
    result = await session.execute(
        delete(SyncRecord).where(
            SyncRecord.organisation_id == organisation_id,
            SyncRecord.payload.is_(None),
            SyncRecord.version <= newest_purged,
        )
    )
    await session.execute(
        update(SyncCounter)
        .where(SyncCounter.organisation_id == organisation_id, SyncCounter.horizon < newest_purged)
        .values(horizon=newest_purged)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def organisations_with_tombstones(session: AsyncSession, older_than: datetime) -> list[uuid.UUID]:
    """Organisations holding a tombstone changed before ``older_than``: what a purge has to visit."""
    rows = await session.scalars(
        select(SyncRecord.organisation_id)
        .where(SyncRecord.payload.is_(None), SyncRecord.changed_at < older_than)
        .distinct()
    )
    return list(rows)


async def invalidate_cursors(session: AsyncSession, organisation_id: uuid.UUID) -> None:
    """After a mirror reset: every cursor handed out so far must resync."""
    latest = await _take_versions(session, organisation_id, 1)
    await session.execute(
        update(SyncCounter).where(SyncCounter.organisation_id == organisation_id).values(horizon=latest)
    )
