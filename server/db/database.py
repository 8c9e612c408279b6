"""The database handle the app and its services share: one engine, one session factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.db.engine import READ_ONLY_OPTION, async_url, create_engine, session_factory
from server.db.migrate import is_current, upgrade_to_head
from server.db.point_reads import PointReader


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)
        # Sessions that only read, one statement at a time: on SQLite their transactions begin
        # DEFERRED, so they neither take nor wait for the write lock that every other session's
        # BEGIN IMMEDIATE takes (a lookup on each request would otherwise queue behind writers
        # and each other). On PostgreSQL they are plain sessions.
        self.reads: async_sessionmaker[AsyncSession] = session_factory(
            self.engine.execution_options(**{READ_ONLY_OPTION: True})
        )
        # Single-statement lookups of the hot path, through the driver (see point_reads).
        self.point = PointReader(async_url(url))

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
