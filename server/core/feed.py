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

Reading. Every pull - the native one (``server.core.pull``, streamed), the WatermelonDB one
(``server.watermelon.adapter``) and ``read`` (a page in memory) - reads the rows after its cursor
through :class:`FeedRead`: one query, oldest version first, a partition at a time, and the cursor
to go on from.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVarTuple

from sqlalchemy import Row, Select, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.core.current import current_records
from server.core.errors import ResyncRequired as ResyncRequired  # raised by ``read``
from server.db.chunks import chunks
from server.db.database import feed_moved
from server.db.models import SyncCounter, SyncRecord, SyncRecordEarlier
from server.db.types import utcnow
from server.db.upserts import insert

# PostgreSQL's LISTEN/NOTIFY channel of feed moves: payload "<organisation id>:<version>".
FEED_CHANNEL = "ledgersync_feed"

# The records phones edit: what they were before an edit is kept (``SyncRecordEarlier``).
_KEEPS_EARLIER = frozenset({"customer", "invoice"})


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


async def current_payloads(
    session: AsyncSession, organisation_id: uuid.UUID, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], bytes | None]:
    """The feed's payloads of (entity, record id) pairs (None: a tombstone); missing keys are absent.

    Read through the transaction's current records (``server.core.current``): a row read once in
    a transaction is not read again.
    """
    return await current_records(session, organisation_id).payloads(keys)


async def lock_organisation(session: AsyncSession, organisation_id: uuid.UUID) -> None:
    """Takes the organisation's feed lock (its counter row) until the transaction ends.

    Publishing and pushes serialise on it. SQLite's BEGIN IMMEDIATE serialises writers already.
    """
    records = current_records(session, organisation_id)
    if records.locked:
        return
    records.took_lock()
    await session.execute(
        insert(session, SyncCounter)
        .values(organisation_id=organisation_id, version=0, horizon=0)
        .on_conflict_do_nothing(index_elements=["organisation_id"])
    )
    await session.execute(
        select(SyncCounter.version).where(SyncCounter.organisation_id == organisation_id).with_for_update()
    )


async def _take_versions(session: AsyncSession, organisation_id: uuid.UUID, count: int) -> int:
    """Reserves ``count`` versions; returns the last. The caller holds the feed lock."""
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
    # The lock before the read: on PostgreSQL a writer holding it may commit between an unlocked
    # read and our taking it, and a change compared with the row it replaced would be judged
    # unchanged (and skipped) or its earlier contents kept wrong.
    await lock_organisation(session, organisation_id)
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
        await session.execute(insert(session, SyncRecordEarlier).on_conflict_do_nothing(), earlier)
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
    for batch in chunks(rows):
        await session.execute(upsert, batch)
    current_records(session, organisation_id).published(
        (change.entity, change.entity_id, first + offset, change.payload)
        for offset, change in enumerate(fresh)
    )
    await _announce(session, organisation_id, last)
    return len(fresh)


async def _announce(session: AsyncSession, organisation_id: uuid.UUID, version: int) -> None:
    """Tells phones' poke streams (``server.core.pokes``) that the feed moved, once this commits.

    This process's streams hear it from the after-commit hook; on PostgreSQL every process's
    streams do from a NOTIFY sent in this transaction, which PostgreSQL delivers on commit only.
    """
    feed_moved(session, organisation_id, version)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(FEED_CHANNEL, f"{organisation_id}:{version}")))


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
    statement = insert(session, SyncRecord.__table__)
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


async def reset_horizon(session: AsyncSession, organisation_id: uuid.UUID) -> None:
    """A mirror reset (another Xero tenant): no cursor handed out before now is served incrementally;
    phones holding one get ``resync_required`` and take a snapshot (docs/protocol.md)."""
    await session.execute(
        update(SyncCounter)
        .where(SyncCounter.organisation_id == organisation_id)
        .values(horizon=SyncCounter.version)
    )


def servable(after: int, latest: int, horizon: int) -> bool:
    """Whether a pull after ``after`` can be served incrementally (0, a snapshot, always can)."""
    return after == 0 or horizon <= after <= latest


async def window(session: AsyncSession, organisation_id: uuid.UUID, after: int) -> tuple[int, int]:
    """(latest version, horizon) of this snapshot, once ``after`` is known to be servable.

    Raises :class:`ResyncRequired` when it is not.
    """
    latest, horizon = await counter(session, organisation_id)
    if not servable(after, latest, horizon):
        raise ResyncRequired(after, horizon, latest)
    return latest, horizon


Ts = TypeVarTuple("Ts")
# Rows per partition, and per fetch from a server-side cursor.
PARTITION = 1000


class FeedRead(Generic[*Ts]):
    """One read of the feed after a cursor, inside one snapshot (``Database.snapshot()``).

    ``partitions()`` hands out the rows changed after ``after`` (at most ``limit``; ``None``: all),
    oldest version first, in lists of at most ``PARTITION`` rows; a snapshot (``after=0``) leaves
    tombstones out, since a phone starting from nothing has nothing to delete. Once they are
    exhausted, ``cursor`` is where the next read goes on from and ``has_more`` whether a next page
    is waiting. Rows are the driver's, with no ORM processing: (entity, id, version, *columns),
    where the columns are the payload and whatever else the reader asked for. Make one with
    :func:`rows_after` or :func:`rows_after_with_created`.
    """

    def __init__(
        self,
        session: AsyncSession,
        query: Select[str, str, int, *Ts],
        after: int,
        latest: int,
        limit: int | None,
    ) -> None:
        self._session = session
        self._query = query if limit is None else query.limit(limit + 1)
        self._after = after
        self._latest = latest
        self._limit = limit
        self.cursor = max(after, latest)
        self.has_more = False

    async def partitions(self) -> AsyncIterator[Sequence[Row[str, str, int, *Ts]]]:
        # At most latest - after rows follow the cursor: a read that small is one execute; a
        # larger one streams through a server-side cursor, a partition at a time, so memory
        # stays flat whatever the page size.
        connection = await self._session.connection()
        small = self._latest - self._after <= PARTITION
        room = self._limit  # rows still to hand out (the query reads one more, to see has_more)
        last: int | None = None
        async with aclosing(_partitions(connection, self._query, small)) as partitions:
            async for partition in partitions:
                if room is not None:
                    if len(partition) > room:
                        partition = partition[:room]
                        self.has_more = True
                    room -= len(partition)
                if partition:
                    last = partition[-1][2]
                    yield partition
                if self.has_more:
                    break
        if self.has_more:
            assert last is not None  # limit >= 1, so a page that has more has rows
            self.cursor = last


def _after(
    organisation_id: uuid.UUID, after: int, query: Select[str, str, int, *Ts]
) -> Select[str, str, int, *Ts]:
    query = query.where(SyncRecord.organisation_id == organisation_id, SyncRecord.version > after).order_by(
        SyncRecord.version
    )
    return query.where(SyncRecord.payload.is_not(None)) if after == 0 else query


def rows_after(
    session: AsyncSession, organisation_id: uuid.UUID, after: int, latest: int, limit: int | None = None
) -> FeedRead[bytes | None]:
    """The feed after ``after`` as (entity, id, version, payload) rows; ``latest`` from ``window``."""
    columns = select(SyncRecord.entity, SyncRecord.entity_id, SyncRecord.version, SyncRecord.payload)
    return FeedRead(session, _after(organisation_id, after, columns), after, latest, limit)


def rows_after_with_created(
    session: AsyncSession, organisation_id: uuid.UUID, after: int, latest: int, limit: int | None = None
) -> FeedRead[bytes | None, int]:
    """``rows_after`` with each record's ``created_version`` as a fifth column."""
    columns = select(
        SyncRecord.entity,
        SyncRecord.entity_id,
        SyncRecord.version,
        SyncRecord.payload,
        SyncRecord.created_version,
    )
    return FeedRead(session, _after(organisation_id, after, columns), after, latest, limit)


async def _partitions(
    connection: AsyncConnection, query: Select[str, str, int, *Ts], small: bool
) -> AsyncGenerator[Sequence[Row[str, str, int, *Ts]]]:
    if small:
        yield (await connection.execute(query)).all()
        return
    result = await connection.stream(query.execution_options(yield_per=PARTITION))
    try:
        async for partition in result.partitions(PARTITION):
            yield partition
    finally:
        await result.close()


async def read(
    session: AsyncSession, organisation_id: uuid.UUID, after: int, limit: int | None = None
) -> FeedPage:
    """Records changed after ``after``, oldest version first, as one page in memory.

    ``after=0`` starts a snapshot. Call inside one snapshot (``Database.snapshot()``) so rows and
    counter agree. The pulls that serve phones read through the same :class:`FeedRead`.
    """
    latest, _ = await window(session, organisation_id, after)
    page = rows_after(session, organisation_id, after, latest, limit)
    rows = [FeedRow(*row) async for partition in page.partitions() for row in partition]
    return FeedPage(rows, page.cursor, page.has_more)


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
    current_records(session, organisation_id).forget()
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
    await _announce(session, organisation_id, latest)  # phones learn to resync at once
