"""PostgreSQL LISTEN on a channel of its own connection, kept open across drops.

NOTIFY is transactional: a notification sent inside a transaction reaches listeners when, and only
if, it commits - so what a listener hears is always readable. The connection is asyncpg's own
(the project's PostgreSQL driver), outside SQLAlchemy's pool: a listening connection is never
returned to a pool. A dropped connection is re-opened with backoff; ``on_connected`` runs after
each (re)connect, since notifications sent while no connection listened are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

log = logging.getLogger("ledgersync.db")

_PROBE_SECONDS = 30.0  # an idle socket may die silently; a probe finds out


def _setter(event: asyncio.Event) -> Callable[[Any], None]:
    return lambda _connection: event.set()


class Listener:
    def __init__(
        self,
        url: URL,
        channel: str,
        on_payload: Callable[[str], None],
        on_connected: Callable[[], None] = lambda: None,
    ) -> None:
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._channel = channel
        self._on_payload = on_payload
        self._on_connected = on_connected
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self._on_payload(payload)
        except Exception:
            log.exception("listener callback failed", extra={"channel": self._channel})

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(self._dsn, timeout=30)
                closed = asyncio.Event()
                connection.add_termination_listener(_setter(closed))
                await connection.add_listener(self._channel, self._heard)
                self.connected.set()
                self._on_connected()
                backoff = 0.5
                while not closed.is_set():
                    try:
                        await asyncio.wait_for(closed.wait(), timeout=_PROBE_SECONDS)
                    except TimeoutError:
                        await connection.fetchval("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("listening connection lost", extra={"channel": self._channel, "error": repr(exc)})
            finally:
                self.connected.clear()
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(connection.close(timeout=5))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
