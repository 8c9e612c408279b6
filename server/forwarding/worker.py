"""Forwarding workers: loops that forward every organisation's due uploads, in this process.

Each worker polls for organisations with due uploads (every ``poll_seconds``, or at once when
``wake()`` is called after a push) and runs its forwarder on each until nothing is due. Several
workers - here or in other processes (``python -m server forward``) - share the work safely: each
item is claimed by exactly one (see ``server/core/outbox.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from server.core import outbox
from server.core.fate import settle_stuck
from server.core.records import lock_organisation
from server.db.database import Database
from server.forwarding.forwarder import Forwarder

log = logging.getLogger("ledgersync.forwarding")


class ForwardingWorkers:
    def __init__(self, database: Database, forwarders: list[Forwarder], poll_seconds: float) -> None:
        self._db = database
        self.forwarders = forwarders
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._swept = False

    def start(self) -> None:
        for forwarder in self.forwarders:
            task = asyncio.get_running_loop().create_task(self._loop(forwarder), name=forwarder.worker)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def wake(self) -> None:
        """Something may be due now (a push was accepted, an admin pressed Retry)."""
        self._wake.set()

    async def drain(self, forwarder: Forwarder) -> int:
        """Forward until nothing is due; returns how many items were taken."""
        taken = 0
        if not self._swept:
            await self._settle_stuck()
        async with self._db.sessions() as session:
            organisations = await outbox.has_due(session)
        for organisation_id in organisations:
            while (report := await forwarder.forward(organisation_id)) is not None:
                taken += report.taken
        return taken

    async def _settle_stuck(self) -> None:
        """Once per process: uploads an older version left waiting behind failed ones go or fail now."""
        self._swept = True  # once, even if it fails: forwarding must not wait for it
        try:
            async with self._db.sessions() as session:
                organisations = await outbox.organisations_waiting(session)
            for organisation_id in organisations:
                async with self._db.transaction() as session:
                    await lock_organisation(session, organisation_id)
                    await settle_stuck(session, organisation_id)
        except Exception:
            log.exception("settling uploads stuck behind failed ones failed; forwarding goes on")

    async def _loop(self, forwarder: Forwarder) -> None:
        while True:
            try:
                worked = await self.drain(forwarder)
            except Exception:
                log.exception("forwarding worker failed; continuing", extra={"worker": forwarder.worker})
                worked = 0
            if worked:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
            self._wake.clear()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
