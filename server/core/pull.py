"""Serving a pull: the change feed after a cursor, as JSON bytes streamed straight from the rows.

The feed stores each record's wire form already encoded, so a pull never decodes or re-encodes a
record: it wraps each row's payload in ``{"version":…,"entity":…,"id":…,"record":<payload>}`` and
streams the page in chunks while reading the rows through a server-side cursor. Memory stays
flat whatever the page size. Rows and the counter are read in one snapshot, which is what makes
the returned cursor safe (see ``server.core.feed``).

Every answer carries the ETag ``"<latest>.<horizon>"`` of the feed it was read from. A phone that
is caught up (its cursor is the latest version) and sends the ETag of its last answer in
``If-None-Match`` gets a 304 when nothing has changed since: the price of reading one counter row.
That read is a single statement outside any transaction (``Database.point``): the counter it sees
is committed, and a cursor equal to it has nothing after it, so no snapshot is needed to say so.
Only a phone with something to fetch opens the snapshot (and reads the counter again inside it).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

import msgspec
from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.core import feed
from server.core.errors import ResyncRequired
from server.db.database import Database
from server.db.models import SyncRecord
from server.db.point_reads import PointQuery

DEFAULT_LIMIT = 5000
MAX_LIMIT = 100_000
_PARTITION = 1000  # rows per streamed chunk and per fetch from the server-side cursor

_encode_str = msgspec.json.encode
_COUNTER = PointQuery("SELECT version, horizon FROM sync_counters WHERE organisation_id = ?")


@dataclass(frozen=True, slots=True)
class PullBody:
    """An answer ready to send: ``etag``, and either ``chunks`` to stream or nothing (``None``)
    when the caller's ``If-None-Match`` already matched. ``caught_up``: an empty page, nothing
    after the cursor."""

    etag: str
    chunks: AsyncIterator[bytes] | None
    caught_up: bool = False


def _etag(latest: int, horizon: int) -> str:
    return f'"{latest}.{horizon}"'


def _row_bytes(entity: str, entity_id: str, version: int, payload: bytes | None) -> bytes:
    return b'{"version":%d,"entity":"%b","id":%b,"record":%b}' % (
        version,
        entity.encode(),
        _encode_str(entity_id),
        payload if payload is not None else b"null",
    )


def _tail(cursor: int, has_more: bool) -> bytes:
    return b'],"cursor":%d,"has_more":%b}' % (cursor, b"true" if has_more else b"false")


class PullService:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def pull(
        self, organisation_id: uuid.UUID, cursor: int, limit: int, if_none_match: str | None = None
    ) -> PullBody:
        """Opens a snapshot, checks the cursor, and returns the page as a stream of chunks.

        Raises ``ResyncRequired`` before anything is streamed.
        """
        counter = await self._db.point.row(_COUNTER, organisation_id)
        latest, horizon = (int(counter[0]), int(counter[1])) if counter else (0, 0)
        if cursor == latest:  # caught up (a horizon is never above the latest version)
            return _caught_up(cursor, _etag(latest, horizon), if_none_match)
        stack = AsyncExitStack()
        session = await stack.enter_async_context(self._db.snapshot())
        try:
            latest, horizon = await feed.counter(session, organisation_id)
            if cursor != 0 and (cursor < horizon or cursor > latest):
                raise ResyncRequired(cursor, horizon, latest)
            etag = _etag(latest, horizon)
            if cursor == latest:
                await stack.aclose()
                return _caught_up(cursor, etag, if_none_match)
        except BaseException:
            await stack.aclose()
            raise
        return PullBody(etag, self._stream(stack, session, organisation_id, cursor, limit, latest))

    async def _stream(
        self,
        stack: AsyncExitStack,
        session: AsyncSession,
        organisation_id: uuid.UUID,
        after: int,
        limit: int,
        latest: int,
    ) -> AsyncIterator[bytes]:
        async with stack:
            query = (
                select(SyncRecord.entity, SyncRecord.entity_id, SyncRecord.version, SyncRecord.payload)
                .where(SyncRecord.organisation_id == organisation_id, SyncRecord.version > after)
                .order_by(SyncRecord.version)
                .limit(limit + 1)
            )
            if after == 0:
                # A phone starting from nothing has nothing to delete.
                query = query.where(SyncRecord.payload.is_not(None))
            sent = 0
            last_version = after
            has_more = False
            head = b'{"changes":['
            # Core-level: no ORM row processing between the driver and the bytes. At most
            # latest - after rows follow the cursor: a page that small is read in one go; a larger
            # one streams through a server-side cursor, a partition at a time.
            connection = await session.connection()
            async for partition in _partitions(connection, query, small=latest - after <= _PARTITION):
                parts: list[bytes] = []
                for entity, entity_id, version, payload in partition:
                    if sent == limit:
                        has_more = True
                        break
                    parts.append(_row_bytes(entity, entity_id, version, payload))
                    sent += 1
                    last_version = version
                if parts:
                    yield head + b",".join(parts)
                    head = b","
                if has_more:
                    break
            if sent == 0:
                yield head
            yield _tail(last_version if has_more else max(after, latest), has_more)


async def _partitions(
    connection: AsyncConnection, query: Select[str, str, int, bytes | None], small: bool
) -> AsyncIterator[Sequence[Row[str, str, int, bytes | None]]]:
    if small:
        yield (await connection.execute(query)).all()
        return
    result = await connection.stream(query.execution_options(yield_per=_PARTITION))
    try:
        async for partition in result.partitions(_PARTITION):
            yield partition
    finally:
        await result.close()


def _caught_up(cursor: int, etag: str, if_none_match: str | None) -> PullBody:
    if if_none_match == etag:
        return PullBody(etag, None, caught_up=True)
    return PullBody(etag, _single(b'{"changes":[' + _tail(cursor, False)), caught_up=True)


async def _single(chunk: bytes) -> AsyncIterator[bytes]:
    yield chunk
