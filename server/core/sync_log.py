"""The sync log: every mirror pull, forwarding run, settings change and event, newest first.

Pulls and forwarding runs have a trigger, data types, times, counts, Xero calls and errors;
settings changes have the admin who made them (``actor``) and what changed (``details``). Events
(kind ``event``) are the other things that change what syncs: Xero connected, disconnected, switched
to another organisation, needing a reconnect; a phone paired or revoked. ``types`` names the event
(``EVENTS``) and ``details["summary"]`` says it in words.

A run is open until its owner closes it; while open, the owner keeps pushing ``expires_at`` ahead
(a pull with its lease, a forwarding run while it works). A process that dies (``kill -9``, a
lost machine) stops doing so: once ``expires_at`` has passed the run reads as *interrupted*, and
is stored so when the next run of the organisation starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from server.core.errors import NotFound
from server.core.mirror_store import Counts
from server.db.database import Database
from server.db.mirror_models import SyncRun
from server.db.types import utcnow
from sync_protocol.errors import ErrorCode


@dataclass(frozen=True)
class RunView:
    id: uuid.UUID
    kind: str  # pull | forward | settings
    trigger: str
    types: list[str]
    status: str
    started_at: datetime
    finished_at: datetime | None
    fetched: int
    created: int
    updated: int
    deleted: int
    xero_calls: int
    errors: list[dict[str, Any]]
    actor: str
    details: dict[str, Any]

    @classmethod
    def of(cls, run: SyncRun) -> RunView:
        lapsed = _lapsed(run, utcnow())
        return cls(
            run.id,
            run.kind,
            run.trigger,
            run.types.split(",") if run.types else [],
            INTERRUPTED if lapsed else run.status,
            run.started_at,
            run.expires_at if lapsed else run.finished_at,
            run.fetched,
            run.created,
            run.updated,
            run.deleted,
            run.xero_calls,
            [INTERRUPTION] if lapsed else list(run.errors or []),
            run.actor,
            dict(run.details or {}),
        )


# The events of the log (``kind="event"``), by the name stored in ``types``.
EVENTS = {
    "connected": "Xero connected",
    "reconnected": "Xero reconnected",
    "switched": "Xero organisation switched",
    "disconnected": "Xero disconnected",
    "needs_reconnect": "Xero needs reconnecting",
    "device_paired": "Phone paired",
    "device_revoked": "Phone revoked",
}


def event_entry(
    organisation_id: uuid.UUID,
    event: str,
    summary: str,
    *,
    actor: str = "",
    trigger: str = "admin",
    details: dict[str, Any] | None = None,
) -> SyncRun:
    """A log row for ``event`` to add in the transaction that makes it happen (so no event is
    logged that did not happen, and none is lost that did)."""
    assert event in EVENTS, event
    now = utcnow()
    return SyncRun(
        organisation_id=organisation_id,
        kind="event",
        trigger=trigger,
        types=event,
        status="succeeded",
        started_at=now,
        finished_at=now,
        actor=actor,
        details={"summary": summary, **(details or {})},
        errors=[],
    )


RUNNING = "running"
INTERRUPTED = "interrupted"
INTERRUPTION: dict[str, Any] = {
    "data_type": "",
    "message": "interrupted: the process running this stopped before it finished (what it stored stays; "
    "the next run picks up from there)",
    "xero_messages": [],
    "record": None,
}


def _lapsed(run: SyncRun, now: datetime) -> bool:
    return run.status == RUNNING and run.expires_at is not None and run.expires_at <= now


class SyncLog:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def start(
        self,
        organisation_id: uuid.UUID,
        trigger: str,
        types: list[str],
        kind: str = "pull",
        ttl: timedelta | None = None,
    ) -> uuid.UUID:
        """Open a run; with ``ttl`` it reads as interrupted unless renewed within that time."""
        now = utcnow()
        async with self._db.transaction() as session:
            await _close_lapsed(session, organisation_id, kind, now)
            run = SyncRun(
                organisation_id=organisation_id,
                trigger=trigger,
                types=",".join(types),
                errors=[],
                kind=kind,
                started_at=now,
                expires_at=now + ttl if ttl is not None else None,
            )
            session.add(run)
            await session.flush()
            return run.id

    async def renew(self, run_id: uuid.UUID, ttl: timedelta) -> None:
        """The owner is alive: the run stays open for ``ttl`` more."""
        async with self._db.transaction() as session:
            await session.execute(
                update(SyncRun)
                .where(SyncRun.id == run_id, SyncRun.status == RUNNING)
                .values(expires_at=utcnow() + ttl)
            )

    @contextlib.asynccontextmanager
    async def kept_open(self, run_id: uuid.UUID, ttl: timedelta) -> AsyncIterator[None]:
        """Renew the run every third of ``ttl`` while the body runs."""

        async def renewing() -> None:
            while True:
                await asyncio.sleep(ttl.total_seconds() / 3)
                with contextlib.suppress(Exception):  # a missed renewal is retried next time
                    await self.renew(run_id, ttl)

        task = asyncio.get_running_loop().create_task(renewing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(
        self,
        run_id: uuid.UUID,
        counts: Counts,
        calls: int,
        errors: list[dict[str, Any]],
        details: dict[str, Any] | None,
    ) -> None:
        async with self._db.transaction() as session:
            run = await session.get(SyncRun, run_id)
            if run is None:
                return
            run.finished_at = utcnow()
            run.expires_at = None
            run.status = "failed" if errors else "succeeded"
            run.fetched = counts.fetched
            run.created = counts.created
            run.updated = counts.updated
            run.deleted = counts.deleted
            run.xero_calls = calls
            run.errors = errors
            run.details = details

    async def page(
        self, organisation_id: uuid.UUID, limit: int, offset: int, kind: str | None = None
    ) -> tuple[list[RunView], int]:
        scope = [SyncRun.organisation_id == organisation_id]
        if kind is not None:
            scope.append(SyncRun.kind == kind)
        async with self._db.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(SyncRun).where(*scope))
            runs = await session.scalars(
                select(SyncRun)
                .where(*scope)
                .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return [RunView.of(run) for run in runs], int(total or 0)

    async def get(self, organisation_id: uuid.UUID, run_id: uuid.UUID) -> RunView:
        async with self._db.sessions() as session:
            run = await session.get(SyncRun, run_id)
            if run is None or run.organisation_id != organisation_id:
                raise NotFound("no such sync run in this organisation", code=ErrorCode.SYNC_RUN_NOT_FOUND)
            return RunView.of(run)

    async def last_started(self, organisation_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        if not organisation_ids:
            return {}
        async with self._db.sessions() as session:
            rows = await session.execute(
                select(SyncRun.organisation_id, func.max(SyncRun.started_at))
                .where(SyncRun.organisation_id.in_(organisation_ids), SyncRun.kind == "pull")
                .group_by(SyncRun.organisation_id)
            )
            return {org: started for org, started in rows if started is not None}


async def _close_lapsed(session: Any, organisation_id: uuid.UUID, kind: str, now: datetime) -> None:
    """Store as interrupted the organisation's runs of ``kind`` whose owner stopped renewing them."""
    lapsed = list(
        await session.scalars(
            select(SyncRun).where(
                SyncRun.organisation_id == organisation_id,
                SyncRun.kind == kind,
                SyncRun.status == RUNNING,
                SyncRun.expires_at <= now,
            )
        )
    )
    for run in lapsed:
        run.status = INTERRUPTED
        run.finished_at = run.expires_at
        run.errors = [INTERRUPTION]
        run.expires_at = None
