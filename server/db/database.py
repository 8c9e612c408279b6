"""The database handle the app and its services share: one engine, one session factory.

It also carries the feed's after-commit hook: ``feed.publish`` notes in its session which
organisations' feeds moved to which version (``feed_moved``), and once that session's transaction
has committed - not before, so nobody is told of a version they cannot read yet - every listener
registered with ``on_feed_moved`` is called with them (the poke hub, ``server.core.pokes``). A
rolled-back transaction tells nobody.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from server.db.engine import READ_ONLY_OPTION, async_url, create_engine, session_factory
from server.db.migrate import is_current, upgrade_to_head
from server.db.point_reads import PointReader

log = logging.getLogger("ledgersync.db")

# Called on the event loop's thread, inside the commit: it must only note the news, never wait.
FeedMoved = Callable[[Mapping[uuid.UUID, int]], None]
_MOVED = "ledgersync.feed_moved"  # session.info: {organisation: newest version published}
_LISTENERS = "ledgersync.feed_listeners"  # session.info (shared list, from the factory): FeedMoved


def feed_moved(session: AsyncSession, organisation_id: uuid.UUID, version: int) -> None:
    """Notes that this transaction moved the organisation's feed to ``version`` (told on commit)."""
    moved: dict[uuid.UUID, int] = session.info.setdefault(_MOVED, {})
    moved[organisation_id] = max(moved.get(organisation_id, 0), version)


@event.listens_for(Session, "after_commit")
def _tell_feed_moved(session: Session) -> None:
    moved = session.info.pop(_MOVED, None)
    if not moved:
        return
    for listener in session.info.get(_LISTENERS, ()):
        try:
            listener(moved)
        except Exception:  # a listener's bug must not fail a commit that has happened
            log.exception("feed listener failed")


@event.listens_for(Session, "after_rollback")
def _forget_feed_moved(session: Session) -> None:
    session.info.pop(_MOVED, None)


class Database:
    def __init__(self, url: str, pool_size: int | None = None) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url, pool_size=pool_size)
        self._feed_listeners: list[FeedMoved] = []
        # The list itself goes into every session's info (shallow-copied), so listeners added later count.
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(
            self.engine, info={_LISTENERS: self._feed_listeners}
        )
        # Sessions that only read, one statement at a time: on SQLite their transactions begin
        # DEFERRED, so they neither take nor wait for the write lock that every other session's
        # BEGIN IMMEDIATE takes (a lookup on each request would otherwise queue behind writers
        # and each other). On PostgreSQL they are plain sessions.
        self.reads: async_sessionmaker[AsyncSession] = session_factory(
            self.engine.execution_options(**{READ_ONLY_OPTION: True})
        )
        # Single-statement lookups of the hot path, through the driver (see point_reads).
        self.point = PointReader(async_url(url))

    def on_feed_moved(self, listener: FeedMoved) -> None:
        """``listener({organisation: version})`` after each commit that published to the feed."""
        self._feed_listeners.append(listener)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read-only session whose statements all see one consistent snapshot.

        PostgreSQL: REPEATABLE READ, READ ONLY. SQLite: one deferred read transaction (WAL).
        """
        options: dict[str, object] = {READ_ONLY_OPTION: True}
        if self.dialect == "postgresql":
            options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**options)
            async with AsyncSession(bind=conn, expire_on_commit=False) as session, session.begin():
                yield session

    async def migrate(self) -> None:
        await upgrade_to_head(self.engine)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def migrations_current(self) -> bool:
        return await is_current(self.engine)

    async def close(self) -> None:
        await self.point.close()
        await self.engine.dispose()
