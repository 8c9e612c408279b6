"""One-row lookups on the hot path of every mobile request, sent straight through the driver.

A caught-up phone's poll is two indexed lookups: its device by token hash, and its organisation's
feed counter. Through a SQLAlchemy session each one costs a pool checkout, a BEGIN, the cursor's
round trips, a COMMIT and the pool's reset: on SQLite about ten hops to and from aiosqlite's
worker threads, on PostgreSQL a pre-ping, BEGIN, query, COMMIT and reset, each a round trip.
Measured at 0.8 ms and more per lookup, that was 90 % of an idle poll (see bench/README.md).

Here a lookup is one statement on a connection kept for the purpose, in autocommit mode, so it
reads the latest committed state and holds no transaction open: on SQLite one dedicated
connection with ``query_only`` on, read inline on the event loop (no thread hop at all); on
PostgreSQL a few asyncpg connections (prepared statements, one round trip per lookup). Only
single-statement reads belong here; several statements that must agree use ``Database.snapshot()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

_PG_CONNECTIONS = 4


class PointQuery:
    """A statement with ``?`` parameters (SQLite's style); PostgreSQL gets it with ``$1, $2, …``."""

    __slots__ = ("postgresql", "sqlite")

    def __init__(self, sql: str) -> None:
        self.sqlite = sql
        parts = sql.split("?")
        self.postgresql = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


class PointReader:
    def __init__(self, url: URL) -> None:
        self._url = url
        self._backend = url.get_backend_name()
        self._sqlite: sqlite3.Connection | None = None
        self._pg_idle: asyncio.Queue[asyncpg.Connection] = asyncio.Queue()
        self._pg_open = 0

    async def row(self, query: PointQuery, *params: Any) -> tuple[Any, ...] | None:
        """The first row of ``query`` (UUID parameters are adapted to the engine), or ``None``."""
        if self._backend == "sqlite":
            return await self._sqlite_row(query.sqlite, tuple(_sqlite_param(p) for p in params))
        return await self._pg_row(query.postgresql, params)

    # --- SQLite ---------------------------------------------------------------------------------
    async def _sqlite_row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        # Inline, on the event loop's thread: an indexed one-row read from a WAL database takes
        # microseconds, less than handing it to a worker thread and back. WAL readers do not wait
        # for writers; should the file be busy anyway (recovery, a truncating checkpoint), the
        # read is retried off the loop with the usual patience.
        connection = self._sqlite or self._open_sqlite()
        try:
            row: tuple[Any, ...] | None = connection.execute(sql, params).fetchone()
            return row
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        return await asyncio.to_thread(self._patient_row, sql, params)

    def _open_sqlite(self) -> sqlite3.Connection:
        database = self._url.database
        if not database or database == ":memory:":
            # Each connection to :memory: is a database of its own.
            raise ValueError("point reads need a database file, not an in-memory database")
        # Autocommit (no transaction is ever left open); no wait on the loop's thread.
        connection = sqlite3.connect(database, isolation_level=None, timeout=0, check_same_thread=False)
        connection.execute("PRAGMA query_only=ON")
        self._sqlite = connection
        return connection

    def _patient_row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        assert self._url.database
        with contextlib.closing(sqlite3.connect(self._url.database, timeout=30)) as connection:
            row: tuple[Any, ...] | None = connection.execute(sql, params).fetchone()
            return row

    # --- PostgreSQL -----------------------------------------------------------------------------
    async def _pg_row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        connection = await self._pg_take()
        try:
            record = await connection.fetchrow(sql, *params)
        except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
            self._pg_open -= 1
            connection.terminate()
            raise
        except BaseException:
            self._pg_give(connection)
            raise
        self._pg_give(connection)
        return tuple(record) if record is not None else None

    async def _pg_take(self) -> asyncpg.Connection:
        while not self._pg_idle.empty():
            idle = self._pg_idle.get_nowait()
            if not idle.is_closed():
                return idle
            self._pg_open -= 1  # lost while idle (PostgreSQL restarted, the network cut it): a new one
        if self._pg_open < _PG_CONNECTIONS:
            self._pg_open += 1
            try:
                dsn = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
                return await asyncpg.connect(dsn, timeout=30)
            except BaseException:
                self._pg_open -= 1
                raise
        return await self._pg_idle.get()

    def _pg_give(self, connection: asyncpg.Connection) -> None:
        self._pg_idle.put_nowait(connection)

    async def close(self) -> None:
        if self._sqlite is not None:
            connection, self._sqlite = self._sqlite, None
            connection.close()
        while not self._pg_idle.empty():
            await self._pg_idle.get_nowait().close()
        self._pg_open = 0


def utc_timestamp(value: datetime | str | None) -> datetime | None:
    """A timestamp column as read here: SQLite hands back SQLAlchemy's naive-UTC text, asyncpg a
    datetime; either way the caller gets an aware UTC datetime."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sqlite_param(value: Any) -> Any:
    # SQLAlchemy's Uuid type stores 32 hex digits on SQLite.
    return value.hex if isinstance(value, uuid.UUID) else value
