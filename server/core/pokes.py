"""Pokes: telling a phone "your organisation's feed moved to version V", the moment it does.

A poke carries no data: the phone pulls as usual (``GET /mobile/v1/changes``, WatermelonDB's
``synchronize()``). It only saves waiting for the next poll.

Where the news comes from. ``feed.publish`` (and anything else that takes feed versions) notes the
new version in its transaction; the database's after-commit hook hands it to ``FeedPokes.moved``
(``server.db.database.feed_moved``), so this process's streams hear of a commit as it happens. On
PostgreSQL the same transaction sends ``NOTIFY ledgersync_feed, '<organisation>:<version>'``, which
every process hears through its ``Listener`` (``server.db.listen``): a change pulled, pushed or
forwarded by one process pokes phones connected to any. SQLite serves one process, so the hook is
all it needs.

What a stream may miss - a notification lost while the listening connection was down, a commit of
another process on SQLite - it catches up with at the next heartbeat, when it reads the
organisation's counter again (one indexed point read). Versions only grow, so "the feed is past
what I last told you" is always the right question, and a phone reconnecting with the last version
it was told (SSE's ``Last-Event-ID``) is poked at once if the feed moved while it was away.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping

from server.core.feed import FEED_CHANNEL
from server.db.database import Database
from server.db.engine import async_url
from server.db.listen import Listener
from server.db.point_reads import PointQuery

log = logging.getLogger("ledgersync.pokes")

_COUNTER = PointQuery("SELECT version FROM sync_counters WHERE organisation_id = ?")
# A burst of commits (a pull's pages, a forwarding batch's fates) makes one poke, not one each.
SETTLE_SECONDS = 0.1


class FeedPokes:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._known: dict[uuid.UUID, int] = {}  # the newest version heard of, by organisation
        self._waiters: dict[uuid.UUID, set[asyncio.Future[int]]] = {}
        self._listener: Listener | None = None
        database.on_feed_moved(self.moved)

    async def start(self, connect_within: float = 5.0) -> None:
        """On PostgreSQL, starts listening, and waits a little for it: a process that serves
        streams before it listens would hear of other processes' moves only at heartbeats."""
        if self._db.dialect == "postgresql" and self._listener is None:
            self._listener = Listener(async_url(self._db.url), FEED_CHANNEL, self._heard)
            self._listener.start()
            try:
                await asyncio.wait_for(self._listener.connected.wait(), connect_within)
            except TimeoutError:
                log.warning("not listening for feed moves yet; retrying in the background")

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.cancel()
        self._waiters.clear()

    async def listening(self) -> None:
        """Until the PostgreSQL listener is connected (no-op on SQLite): for tests and readiness."""
        if self._listener is not None:
            await self._listener.connected.wait()

    # --- hearing -------------------------------------------------------------------------------
    def moved(self, moves: Mapping[uuid.UUID, int]) -> None:
        """Feeds moved (after a commit, or a notification): wakes their organisations' waiters."""
        for organisation_id, version in moves.items():
            if version <= self._known.get(organisation_id, 0):
                continue  # heard already (the hook and the notification both tell this process)
            self._known[organisation_id] = version
            for waiter in self._waiters.pop(organisation_id, ()):
                if not waiter.done():
                    waiter.set_result(version)

    def _heard(self, payload: str) -> None:
        organisation, _, version = payload.partition(":")
        try:
            self.moved({uuid.UUID(organisation): int(version)})
        except ValueError:
            log.warning("unreadable feed notification", extra={"payload": payload[:100]})

    # --- asking --------------------------------------------------------------------------------
    async def version(self, organisation_id: uuid.UUID) -> int:
        """The organisation's feed version as committed now."""
        row = await self._db.point.row(_COUNTER, organisation_id)
        version = int(row[0]) if row is not None else 0
        self.moved({organisation_id: version})
        return version

    async def after(self, organisation_id: uuid.UUID, version: int, seconds: float) -> int | None:
        """The feed's version once it is past ``version``; None if ``seconds`` pass first."""
        known = self._known.get(organisation_id, 0)
        if known > version:
            return known
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(organisation_id, set())
        waiters.add(waiter)
        try:
            return await asyncio.wait_for(waiter, seconds)
        except TimeoutError:
            return None
        finally:
            waiters.discard(waiter)
            if not waiters and self._waiters.get(organisation_id) is waiters:
                del self._waiters[organisation_id]

    async def wait(self, organisation_id: uuid.UUID, after: int | None, seconds: float) -> int:
        """The long poll: the version once past ``after`` or when ``seconds`` have passed (None: now)."""
        current = await self.version(organisation_id)
        if after is None or current > after:
            return current
        moved = await self.after(organisation_id, after, seconds)
        if moved is None:
            return await self.version(organisation_id)
        await asyncio.sleep(SETTLE_SECONDS)
        return max(moved, self._known.get(organisation_id, moved))

    async def watch(
        self, organisation_id: uuid.UUID, last_seen: int | None, heartbeat: float
    ) -> AsyncIterator[int | None]:
        """A stream: each new version as the feed moves, ``None`` for a heartbeat when it stays put.

        First the current version, unless the caller saw it already (``last_seen``, from
        ``Last-Event-ID``): a phone back from a dropped stream learns at once of what it missed.
        """
        told = await self.version(organisation_id)
        if last_seen is None or told > last_seen:
            yield told
        while True:
            moved = await self.after(organisation_id, told, heartbeat)
            if moved is None:
                moved = await self.version(organisation_id)  # news this process was not told of
                if moved <= told:
                    yield None
                    continue
            else:
                await asyncio.sleep(SETTLE_SECONDS)
            told = max(moved, self._known.get(organisation_id, moved))
            yield told
