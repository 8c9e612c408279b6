"""What the admin's pages say about mirror pulls: the latest one, the last one that succeeded."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.core.sync_log import RunView
from server.db.database import Database
from server.db.mirror_models import SyncRun


async def last_successful_sync(database: Database, organisation_id: uuid.UUID) -> RunView | None:
    async with database.sessions() as session:
        run = await session.scalar(
            select(SyncRun)
            .where(
                SyncRun.organisation_id == organisation_id,
                SyncRun.kind == "pull",
                SyncRun.status == "succeeded",
            )
            .order_by(SyncRun.finished_at.desc(), SyncRun.id.desc())
            .limit(1)
        )
        return RunView.of(run) if run is not None else None


async def latest_run(database: Database, organisation_id: uuid.UUID) -> RunView | None:
    async with database.sessions() as session:
        run = await session.scalar(
            select(SyncRun)
            .where(SyncRun.organisation_id == organisation_id, SyncRun.kind == "pull")
            .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
            .limit(1)
        )
        return RunView.of(run) if run is not None else None
