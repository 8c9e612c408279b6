"""The sync log: every mirror pull with its trigger, data types, times, counts, Xero calls and errors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from server.db.database import Database
from server.db.mirror_models import SyncRun
from server.db.types import utcnow
from server.errors import NotFound
from server.services.mirror.pull import PullResult


@dataclass(frozen=True)
class RunView:
    id: uuid.UUID
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

    @classmethod
    def of(cls, run: SyncRun) -> RunView:
        return cls(
            run.id,
            run.trigger,
            run.types.split(",") if run.types else [],
            run.status,
            run.started_at,
            run.finished_at,
            run.fetched,
            run.created,
            run.updated,
            run.deleted,
            run.xero_calls,
            list(run.errors or []),
        )


class SyncLog:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def start(self, organisation_id: uuid.UUID, trigger: str, types: list[str]) -> uuid.UUID:
        async with self._db.transaction() as session:
            run = SyncRun(organisation_id=organisation_id, trigger=trigger, types=",".join(types), errors=[])
            session.add(run)
            await session.flush()
            return run.id

    async def finish(self, run_id: uuid.UUID, result: PullResult, calls: int) -> None:
        async with self._db.transaction() as session:
            run = await session.get(SyncRun, run_id)
            if run is None:
                return
            run.finished_at = utcnow()
            run.status = "failed" if result.errors else "succeeded"
            run.fetched = result.counts.fetched
            run.created = result.counts.created
            run.updated = result.counts.updated
            run.deleted = result.counts.deleted
            run.xero_calls = calls
            run.errors = [error.wire() for error in result.errors]

    async def page(self, organisation_id: uuid.UUID, limit: int, offset: int) -> tuple[list[RunView], int]:
        async with self._db.sessions() as session:
            total = await session.scalar(
                select(func.count()).select_from(SyncRun).where(SyncRun.organisation_id == organisation_id)
            )
            runs = await session.scalars(
                select(SyncRun)
                .where(SyncRun.organisation_id == organisation_id)
                .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return [RunView.of(run) for run in runs], int(total or 0)

    async def get(self, organisation_id: uuid.UUID, run_id: uuid.UUID) -> RunView:
        async with self._db.sessions() as session:
            run = await session.get(SyncRun, run_id)
            if run is None or run.organisation_id != organisation_id:
                raise NotFound("no such sync run in this organisation", code="sync_run_not_found")
            return RunView.of(run)

    async def last_started(self, organisation_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        if not organisation_ids:
            return {}
        async with self._db.sessions() as session:
            rows = await session.execute(
                select(SyncRun.organisation_id, func.max(SyncRun.started_at))
                .where(SyncRun.organisation_id.in_(organisation_ids))
                .group_by(SyncRun.organisation_id)
            )
            return {org: started for org, started in rows if started is not None}
