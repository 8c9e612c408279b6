"""Database engines: SQLite through aiosqlite by default, PostgreSQL through asyncpg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

# Execution option marking a read-only snapshot transaction (see Database.snapshot).
READ_ONLY_OPTION = "ledgersync_read_only"

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(database_url: str) -> URL:
    """``sqlite:///x`` → ``sqlite+aiosqlite:///x``; ``postgresql://…`` → ``postgresql+asyncpg://…``."""
    url = make_url(database_url)
    backend = url.drivername.split("+", 1)[0]
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {url.drivername!r}: use sqlite:// or postgresql://")
    return url.set(drivername=_ASYNC_DRIVERS[backend])


def sync_url(database_url: str) -> URL:
    """The URL Alembic's offline tooling would use; kept for `alembic` CLI users."""
    return make_url(database_url)


# Connections a process's pool may hold on PostgreSQL when the caller does not say (Settings says 15).
DEFAULT_POOL_SIZE = 15


def create_engine(database_url: str, pool_size: int | None = None, **options: Any) -> AsyncEngine:
    url = async_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url, **options)
    options.setdefault("pool_pre_ping", True)
    # A hard ceiling, no overflow: the deployment's connection budget is processes x pool size
    # (docs/deployment.md); connections open on demand and stay open for the next checkout.
    options.setdefault("pool_size", pool_size or DEFAULT_POOL_SIZE)
    options.setdefault("max_overflow", 0)
    return create_async_engine(url, **options)


def _create_sqlite_engine(url: URL, **options: Any) -> AsyncEngine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = options.pop("connect_args", {})
    # A generous timeout: SQLite serialises writers, and a waiting writer must not fail.
    connect_args.setdefault("timeout", 30)
    engine = create_async_engine(url, connect_args=connect_args, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        # Writers take the write lock at BEGIN: a read-then-write transaction otherwise fails with
        # "database is locked" instead of waiting when another writer got there first. Snapshot
        # reads (Database.snapshot) begin deferred and never block writers (WAL).
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    # aiosqlite's own implicit BEGIN would clash with ours.
    @event.listens_for(engine.sync_engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    return engine


def session_factory(engine: AsyncEngine, **options: Any) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, **options)
