"""Due pulls as claimed work: any process runs them, a bounded number at a time, oldest due first.

The elected scheduler (``server/mirror/scheduler.py``) only *records* what is due: one
``due_pulls`` row per organisation, ``due_at`` the moment it became due (its last pull plus its
interval), inserted once (a row already waiting keeps its place). Every process runs ``PullWorkers``:
while it has room (``pulls_per_process``), it claims the oldest due rows with ``FOR UPDATE SKIP
LOCKED`` (two processes never take one row; SQLite serialises writers anyway), stamping its name and
an expiry, and runs each pull through ``SyncService`` - the organisation's pull lease, the tenant's
shared limits, the sync log. A finished pull deletes its row. A process killed mid-pull leaves its
claim to lapse at ``claim_expires_at``; another process takes the row then, and the lapsed pull lease
lets its pull through (a pull still running elsewhere holds the lease, so the row is just dropped:
never two pulls of one organisation at once). Oldest due first across organisations is the fairness:
500 organisations due at once are worked through in the order they fell due, by every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select

from server.db.chunks import chunks
from server.db.database import Database
from server.db.mirror_models import DuePull
from server.db.types import utcnow
from server.db.upserts import insert
from server.mirror.service import SyncService, Trigger

log = logging.getLogger("ledgersync.pulls")


class PullWorkers:
    def __init__(
        self,
        database: Database,
        sync: SyncService,
        per_process: int = 4,
        poll_seconds: float = 2.0,
        claim_ttl: timedelta | None = None,
    ) -> None:
        self._db = database
        self._sync = sync
        self.holder = sync.leases.holder
        self.per_process = per_process
        self.poll_seconds = poll_seconds
        self.claim_ttl = claim_ttl or sync.lease_ttl
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._running: dict[uuid.UUID, asyncio.Task[Any]] = {}

    async def add(self, due: Mapping[uuid.UUID, datetime], trigger: Trigger) -> None:
        """Records pulls as due (since ``due[organisation]``); one already waiting keeps its place."""
        if not due:
            return
        rows = [{"organisation_id": org, "trigger": trigger, "due_at": at} for org, at in due.items()]
        async with self._db.transaction() as session:
            for chunk in chunks(rows):
                await session.execute(
                    insert(session, DuePull)
                    .values(chunk)
                    .on_conflict_do_nothing(index_elements=["organisation_id"])
                )
        self.wake()

    async def claim(self, limit: int) -> list[tuple[uuid.UUID, str]]:
        """Claims up to ``limit`` due pulls, oldest due first, skipping rows another process holds."""
        now = utcnow()
        async with self._db.transaction() as session:
            rows = list(
                await session.scalars(
                    select(DuePull)
                    .where(
                        DuePull.due_at <= now,
                        or_(DuePull.claim_expires_at.is_(None), DuePull.claim_expires_at <= now),
                    )
                    .order_by(DuePull.due_at, DuePull.organisation_id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            for row in rows:
                row.claimed_by = self.holder
                row.claim_expires_at = now + self.claim_ttl
            return [(row.organisation_id, row.trigger) for row in rows]

    async def _done(self, organisation_id: uuid.UUID) -> None:
        async with self._db.transaction() as session:
            await session.execute(
                delete(DuePull).where(
                    DuePull.organisation_id == organisation_id, DuePull.claimed_by == self.holder
                )
            )

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self.per_process > 0 and self._loop_task is None:
            self._loop_task = asyncio.get_running_loop().create_task(self._loop(), name="pull-workers")

    async def _loop(self) -> None:
        while True:
            room = self.per_process - len(self._running)
            if room > 0:
                try:
                    claimed = await self.claim(room)
                except Exception:
                    log.exception("claiming due pulls failed; trying again")
                    claimed = []
                for organisation_id, trigger in claimed:
                    task = asyncio.get_running_loop().create_task(self._pull(organisation_id, trigger))
                    self._running[organisation_id] = task
                if claimed and len(claimed) == room:
                    continue  # more may be due: claim again once a pull ends
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()

    async def _pull(self, organisation_id: uuid.UUID, trigger: str) -> None:
        try:
            # None: another pull of it runs (its lease) or Xero needs a reconnect; either way this
            # due pull is spent - the schedule adds it again when it falls due again.
            await self._sync.run(organisation_id, trigger=trigger)
        except Exception:
            log.exception("scheduled pull failed", extra={"organisation_id": str(organisation_id)})
        finally:
            try:
                await self._done(organisation_id)
            except Exception:
                log.exception("a finished pull's row stays until its claim lapses")
            self._running.pop(organisation_id, None)
            self.wake()

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop_task = None
        self._running.clear()
