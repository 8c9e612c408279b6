"""Migration 0900 keeps a deployment's data working: mirror rows keep their ids, a run an older version
left running reads as interrupted, and from then on rows are keyed within their organisation."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from server.core.sync_log import SyncLog
from server.db.database import Database
from server.db.migrate import alembic_config
from server.db.mirror_models import MirrorRecord, SyncRun
from server.db.types import UTCDateTime, utcnow

_old = sa.MetaData()
organisations = sa.Table(
    "organisations",
    _old,
    sa.Column("id", sa.Uuid),
    sa.Column("name", sa.String),
    sa.Column("created_at", UTCDateTime()),
)
mirror_records = sa.Table(
    "mirror_records",
    _old,
    *(sa.Column(name, sa.Uuid) for name in ("id", "organisation_id")),
    *(sa.Column(name, sa.String) for name in ("tenant_id", "kind", "xero_id")),
    sa.Column("payload", sa.LargeBinary),
    sa.Column("removed", sa.Boolean),
    sa.Column("pulled_at", UTCDateTime()),
)
sync_runs = sa.Table(
    "sync_runs",
    _old,
    *(sa.Column(name, sa.Uuid) for name in ("id", "organisation_id")),
    *(sa.Column(name, sa.String) for name in ("trigger", "types", "status", "kind", "actor")),
    sa.Column("started_at", UTCDateTime()),
    *(sa.Column(name, sa.Integer) for name in ("fetched", "created", "updated", "deleted", "xero_calls")),
    sa.Column("errors", sa.JSON),
)


def migrate(connection: Connection, revision: str, upgrade: bool) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.upgrade if upgrade else command.downgrade)(config, revision)


async def test_existing_mirror_rows_and_runs_survive_and_rows_are_then_keyed_within_the_organisation(
    database: Database,
) -> None:
    first, second, record = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    run_id = uuid.uuid4()
    async with database.engine.begin() as conn:
        await conn.run_sync(migrate, "0400", False)
        await conn.execute(
            organisations.insert(),
            [{"id": org, "name": "Org", "created_at": utcnow()} for org in (first, second)],
        )
        await conn.execute(
            mirror_records.insert(),
            [
                {
                    "id": record,
                    "organisation_id": first,
                    "tenant_id": "t-1",
                    "kind": "customer",
                    "xero_id": "x-1",
                    "payload": b"{}",
                    "removed": False,
                    "pulled_at": utcnow(),
                }
            ],
        )
        await conn.execute(
            sync_runs.insert(),
            [
                {
                    "id": run_id,
                    "organisation_id": first,
                    "trigger": "manual",
                    "types": "customers",
                    "status": "running",
                    "kind": "pull",
                    "actor": "",
                    "started_at": utcnow(),
                    **dict.fromkeys(("fetched", "created", "updated", "deleted", "xero_calls"), 0),
                    "errors": [],
                }
            ],
        )
        await conn.run_sync(migrate, "heads", True)

    async with database.transaction() as session:
        kept = await session.scalar(sa.select(MirrorRecord).where(MirrorRecord.organisation_id == first))
        assert kept is not None
        assert (kept.id, kept.xero_id) == (record, "x-1")
        # Another organisation may now hold a record with the same id, of the same tenant.
        session.add(
            MirrorRecord(
                id=record,
                organisation_id=second,
                tenant_id="t-1",
                kind="customer",
                xero_id="x-1",
                payload=b"{}",
                removed=False,
                pulled_at=utcnow(),
            )
        )
    left_running = await SyncLog(database).get(first, run_id)
    assert left_running.status == "interrupted"
    async with database.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(MirrorRecord)) == 2
        assert (await session.get(SyncRun, run_id)) is not None
