"""Serving a pull: the change feed after a cursor, as JSON bytes streamed straight from the rows.

The feed stores each record's wire form already encoded, so a pull never decodes or re-encodes a
record: it wraps each row's payload in ``{"version":…,"entity":…,"id":…,"record":<payload>}`` and
streams the page a partition at a time as ``feed.FeedRead`` reads it (through a server-side cursor
when the page is large). Memory stays flat whatever the page size. Rows and the counter are read
in one snapshot, which is what makes the returned cursor safe (see ``server.core.feed``).

Every answer carries the ETag ``"<latest>.<horizon>"`` of the feed it was read from. A phone that
is caught up (its cursor is the latest version) and sends the ETag of its last answer in
``If-None-Match`` gets a 304 when nothing has changed since: the price of reading one counter row.
That read is a single statement outside any transaction (``Database.point``): the counter it sees
is committed, and a cursor equal to it has nothing after it, so no snapshot is needed to say so.
Only a phone with something to fetch opens the snapshot (and reads the counter again inside it).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import feed
from server.db.database import Database
from server.db.point_reads import PointQuery

DEFAULT_LIMIT = 5000
MAX_LIMIT = 100_000

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
        self,
        organisation_id: uuid.UUID,
        cursor: int,
        limit: int,
        if_none_match: str | None = None,
        counter: tuple[int, int] | None = None,
    ) -> PullBody:
        """Opens a snapshot, checks the cursor, and returns the page as a stream of chunks.

        ``counter``: the feed's (latest, horizon) as the caller read it moments ago (with the device
        token, ``DevicePrincipal.feed_counter``), else read here. Committed state either way; a
        cursor behind it is checked again inside the snapshot. Raises ``ResyncRequired`` before
        anything is streamed.
        """
        if counter is None:
            row = await self._db.point.row(_COUNTER, organisation_id)
            counter = (int(row[0]), int(row[1])) if row else (0, 0)
        latest, horizon = counter
        if cursor == latest:  # caught up (a horizon is never above the latest version)
            return _caught_up(cursor, _etag(latest, horizon), if_none_match)
        stack = AsyncExitStack()
        session = await stack.enter_async_context(self._db.snapshot())
        try:
            latest, horizon = await feed.window(session, organisation_id, cursor)
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
            page = feed.rows_after(session, organisation_id, after, latest, limit)
            head = b'{"changes":['
            async for partition in page.partitions():
                yield head + b",".join([_row_bytes(e, i, v, p) for e, i, v, p in partition])
                head = b","
            if head != b",":  # no row at all
                yield head
            yield _tail(page.cursor, page.has_more)


def _caught_up(cursor: int, etag: str, if_none_match: str | None) -> PullBody:
    if if_none_match == etag:
        return PullBody(etag, None, caught_up=True)
    return PullBody(etag, _single(b'{"changes":[' + _tail(cursor, False)), caught_up=True)


async def _single(chunk: bytes) -> AsyncIterator[bytes]:
    yield chunk
