"""Periodic pulls with APScheduler 3 (AsyncIOScheduler), one scheduler per deployment.

Every process runs the same light ``tick`` job; a tick first takes the ``scheduler`` lease, so only
one process (the elected one, until it stops renewing) decides what is due. What is due is derived
from the database - connected organisations whose last run started more than their interval ago - so
a restart loses no schedule and needs no job store. The scheduler does not run the pulls: it records
them as due pulls, which every process's ``PullWorkers`` claim and run, a bounded number at a time,
oldest due first (``server/mirror/pull_queue.py``). Each pull still takes its organisation's lease.
The interval is ``server.mirror.budget``'s choice: the organisation's own (set in Settings), else
with webhooks the server-wide one, else the most often Xero's daily budget allows.

The same scheduler purges tombstones older than the retention period (``tombstone_retention_days``)
every ``tombstone_purge_seconds``, raising each organisation's horizon (``feed.purge_tombstones``).
Purging is idempotent, so every process may run it; it needs no lease.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from server.core import feed
from server.db.database import Database
from server.db.forwarding_models import ForwardingSettings
from server.db.mirror_models import XeroConnection
from server.db.types import utcnow
from server.mirror.budget import Policy, Schedule, Usage, usage_of
from server.mirror.leases import SCHEDULER_LEASE
from server.mirror.pull_queue import PullWorkers
from server.mirror.service import SyncService
from server.xero_link.tokens import CONNECTED

log = logging.getLogger("ledgersync.scheduler")


class MirrorScheduler:
    def __init__(
        self,
        database: Database,
        sync: SyncService,
        interval: timedelta,
        tick_seconds: float = 30.0,
        retention: timedelta = timedelta(0),
        purge_seconds: float = 3600.0,
        policy: Policy | None = None,
        pulls: PullWorkers | None = None,
    ) -> None:
        """``retention``: how long tombstones are kept (0: forever, no purge job). ``policy``: how each
        organisation's interval is chosen (None: ``interval`` for all but those with their own).
        ``pulls``: this process's pull workers (None: four, with the sync service's lease time)."""
        self._db = database
        self._sync = sync
        self.interval = interval
        self.policy = policy or Policy.fixed(interval)
        self.tick_seconds = tick_seconds
        self.retention = retention
        self.purge_seconds = purge_seconds
        self._scheduler: AsyncIOScheduler | None = None
        self.pulls = pulls or PullWorkers(database, sync)

    def start(self) -> None:
        scheduler = AsyncIOScheduler(timezone="UTC")
        if self.interval > timedelta(0):  # periodic pulls are off when sync_interval_minutes = 0
            scheduler.add_job(
                self.tick,
                "interval",
                seconds=self.tick_seconds,
                next_run_time=utcnow(),
                max_instances=1,
                coalesce=True,
                id="mirror-tick",
            )
        if self.retention > timedelta(0):
            scheduler.add_job(
                self.purge,
                "interval",
                seconds=self.purge_seconds,
                next_run_time=utcnow(),
                max_instances=1,
                coalesce=True,
                id="tombstone-purge",
            )
        if scheduler.get_jobs():
            scheduler.start()
            self._scheduler = scheduler
        if self.interval > timedelta(0):
            self.pulls.start()

    async def purge(self) -> dict[uuid.UUID, int]:
        """Purges tombstones older than the retention period; returns how many, by organisation."""
        older_than = utcnow() - self.retention
        purged: dict[uuid.UUID, int] = {}
        try:
            async with self._db.reads() as session:
                organisations = await feed.organisations_with_tombstones(session, older_than)
            for organisation_id in organisations:
                # One transaction per organisation: a purge holds each counter lock only briefly.
                async with self._db.transaction() as session:
                    purged[organisation_id] = await feed.purge_tombstones(
                        session, organisation_id, older_than
                    )
            async with self._db.transaction() as session:
                # What records were before old edits: no app still holds a cursor that old.
                await feed.purge_earlier(session, older_than)
        except Exception:
            log.exception("tombstone purge failed")
        if purged:
            log.info(
                "tombstones purged", extra={"organisations": len(purged), "tombstones": sum(purged.values())}
            )
        return purged

    async def tick(self) -> list[uuid.UUID]:
        """Record the pulls that are due; returns their organisations (for tests and logs)."""
        # The lease outlives a few ticks so a slow tick does not hand leadership around.
        if not await self._sync.leases.take(SCHEDULER_LEASE, timedelta(seconds=self.tick_seconds * 3)):
            return []
        schedules = await self.schedules()
        interval = {
            org: timedelta(minutes=s.interval_minutes)
            for org, s in schedules.items()
            if s.interval_minutes is not None
        }
        last = await self._sync.log.last_started(list(interval))
        now = utcnow()
        due = [org for org in interval if org not in last or now - last[org] >= interval[org]]
        # Due since its last pull's start plus its interval (never pulled: now): oldest due goes first.
        await self.pulls.add(
            {org: last[org] + interval[org] if org in last else now for org in due}, "schedule"
        )
        return due

    async def schedules(self, organisation_id: uuid.UUID | None = None) -> dict[uuid.UUID, Schedule]:
        """The schedule of each connected organisation (or of one), as the next tick would use it."""
        query = (
            select(XeroConnection.organisation_id, ForwardingSettings.sync_interval_minutes)
            .outerjoin(
                ForwardingSettings, ForwardingSettings.organisation_id == XeroConnection.organisation_id
            )
            .where(XeroConnection.status == CONNECTED)
        )
        if organisation_id is not None:
            query = query.where(XeroConnection.organisation_id == organisation_id)
        async with self._db.reads() as session:
            own = {org: minutes for org, minutes in await session.execute(query)}
        usage = await usage_of(self._db, list(own), utcnow()) if self.policy.budget_aware else {}
        return {org: self.policy.choose(minutes, usage.get(org, Usage())) for org, minutes in own.items()}

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        await self.pulls.stop()
        await self._sync.leases.release(SCHEDULER_LEASE)


async def schedule_of(scheduler: MirrorScheduler, organisation_id: uuid.UUID) -> Schedule | None:
    """One organisation's schedule (None: not connected to Xero)."""
    return (await scheduler.schedules(organisation_id)).get(organisation_id)
