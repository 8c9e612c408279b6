"""Running mirror pulls: at most one per organisation at a time across processes, each one logged.

``start`` takes the organisation's pull lease and opens a sync-log run (so an admin's *Sync now*
can answer at once with the run id, or with 409 while another pull runs); ``execute`` does the
pull, renewing the lease and the run as it goes, and closes the run. A process that dies mid-pull
leaves both to lapse: its run then reads as interrupted and Sync now goes through again. A
connection that needs a reconnect pauses pulls: they are refused before touching Xero, and nothing
is lost - the next pull after reconnecting resumes from the stored high-water marks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from server.core import data_types
from server.core.data_types import DataType
from server.core.errors import Conflict, InvalidInput
from server.core.mirror_store import Counts
from server.core.sync_log import SyncLog
from server.db.database import Database
from server.mirror.leases import Leases, pull_lease
from server.mirror.pull import MirrorPuller, PullError, Targets
from server.xero.client import XeroClient
from server.xero.errors import NeedsReconnect, ValidationError, XeroError
from server.xero_link.access import XeroAccess
from sync_protocol.errors import ErrorCode

log = logging.getLogger("ledgersync.mirror")

LEASE_TTL = timedelta(minutes=5)
Trigger = str  # schedule | manual | webhook | connect | reconnect | switch


@dataclass(frozen=True)
class StartedRun:
    run_id: uuid.UUID
    organisation_id: uuid.UUID
    types: list[DataType]
    trigger: Trigger
    client: XeroClient
    targets: Targets | None = None  # a webhook's pull: only the records it named


class SyncService:
    def __init__(
        self, database: Database, access: XeroAccess, holder: str, lease_ttl: timedelta = LEASE_TTL
    ) -> None:
        self._db = database
        self._access = access
        self.lease_ttl = lease_ttl
        self.leases = Leases(database, holder)
        self.log = SyncLog(database)
        self._tasks: set[asyncio.Task[Any]] = set()
        # The lease keeps other processes out; within this process (whose holder name the lease
        # already has) a Sync now, a connect's pull and a claimed scheduled pull must not overlap.
        self._pulling: set[uuid.UUID] = set()

    async def start(
        self,
        organisation_id: uuid.UUID,
        types: list[DataType],
        trigger: Trigger,
        targets: Targets | None = None,
    ) -> StartedRun | None:
        """Take the pull lease and open a run; None when another pull of this organisation runs."""
        client = await self._access.client_for(organisation_id)  # NeedsReconnect: paused
        if organisation_id in self._pulling:
            return None
        self._pulling.add(organisation_id)
        try:
            if not await self.leases.take(pull_lease(organisation_id), self.lease_ttl, organisation_id):
                self._pulling.discard(organisation_id)
                return None
            # A run whose owner died with the lease is closed as interrupted here.
            run_id = await self.log.start(organisation_id, trigger, list(types), ttl=self.lease_ttl)
        except BaseException:
            self._pulling.discard(organisation_id)
            await self.leases.release(pull_lease(organisation_id))
            raise
        return StartedRun(run_id, organisation_id, types, trigger, client, targets)

    async def execute(self, run: StartedRun) -> None:
        lease = pull_lease(run.organisation_id)

        async def keep_alive() -> None:
            await self.leases.take(lease, self.lease_ttl, run.organisation_id)
            await self.log.renew(run.run_id, self.lease_ttl)

        # Manual syncs read items in full: the only way to see deletions, and no dearer in calls.
        puller = MirrorPuller(
            self._db,
            run.organisation_id,
            run.client,
            keep_alive,
            full=run.trigger == "manual",
            targets=run.targets,
        )
        # What each data type brought, for the sync log and the home page ("12 customers, 3 new").
        by_type: dict[str, dict[str, int]] = {}
        try:
            for data_type in run.types:
                before = dataclasses.replace(puller.result.counts)
                try:
                    await puller.pull(data_type)
                except NeedsReconnect as exc:
                    puller.result.errors.append(PullError(data_type, exc.message))
                    break  # the connection is paused; the other types would fail the same way
                except ValidationError as exc:
                    puller.result.errors.append(PullError(data_type, exc.message, exc.messages))
                except XeroError as exc:
                    puller.result.errors.append(PullError(data_type, exc.message))
                except Exception as exc:  # a bug must not leave the run open and the lease held
                    log.exception("mirror pull failed", extra={"organisation_id": str(run.organisation_id)})
                    puller.result.errors.append(PullError(data_type, f"internal error: {type(exc).__name__}"))
                finally:
                    by_type[data_type] = _difference(puller.result.counts, before)
        finally:
            result = puller.result
            errors = [error.wire() for error in result.errors]
            await self.log.close(
                run.run_id,
                result.counts,
                run.client.calls,
                errors,
                details={"by_type": by_type, "process": self.leases.holder},  # which process pulled
            )
            await self.leases.release(lease)
            self._pulling.discard(run.organisation_id)

    async def run(
        self,
        organisation_id: uuid.UUID,
        types: list[DataType] | None = None,
        trigger: Trigger = "schedule",
        targets: Targets | None = None,
    ) -> uuid.UUID | None:
        """Pull now and wait for it; None when another pull held the lease or Xero needs a reconnect."""
        try:
            started = await self.start(
                organisation_id, types or list(data_types.DATA_TYPES), trigger, targets
            )
        except NeedsReconnect:
            return None
        if started is None:
            return None
        await self.execute(started)
        return started.run_id

    async def sync_now(self, organisation_id: uuid.UUID, type_names: list[str] | None) -> uuid.UUID:
        """The admin's *Sync now*: starts a pull in the background and returns its run id."""
        try:
            types = data_types.parse_types(type_names)
        except ValueError as exc:
            raise InvalidInput(
                f"unknown data types: {exc}; use {', '.join(data_types.DATA_TYPES)}", field="types"
            ) from exc
        try:
            started = await self.start(organisation_id, types, "manual")
        except NeedsReconnect as exc:
            raise Conflict(exc.message, code=ErrorCode.XERO_NEEDS_RECONNECT) from exc
        if started is None:
            raise Conflict("a sync of this organisation is running already", code=ErrorCode.SYNC_IN_PROGRESS)
        task = asyncio.get_running_loop().create_task(self.execute(started))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return started.run_id

    async def pull_soon(self, organisation_id: uuid.UUID, trigger: Trigger) -> uuid.UUID | None:
        """Start a pull of everything in the background (after connecting, reconnecting or switching
        tenants: phones should not wait for the scheduler's next tick). None when it cannot start
        now (another pull runs; the connection needs a reconnect): the scheduler's next tick pulls."""
        try:
            started = await self.start(organisation_id, list(data_types.DATA_TYPES), trigger)
        except NeedsReconnect:
            return None
        if started is None:
            return None
        task = asyncio.get_running_loop().create_task(self.execute(started))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return started.run_id

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _difference(after: Counts, before: Counts) -> dict[str, int]:
    return {
        "fetched": after.fetched - before.fetched,
        "created": after.created - before.created,
        "updated": after.updated - before.updated,
        "deleted": after.deleted - before.deleted,
    }
