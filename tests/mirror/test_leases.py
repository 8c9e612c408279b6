"""At most one pull per organisation across processes; one scheduler per deployment, pulling each
organisation on its own interval."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from server.core.crypto import SecretBox
from server.db.database import Database
from server.db.mirror_models import SyncRun
from server.db.types import utcnow
from server.forwarding.settings import ForwardingSettingsService, SettingsChange
from server.mirror.scheduler import MirrorScheduler
from server.mirror.service import SyncService
from server.settings import Settings
from server.xero_link.access import XeroAccess
from tests.factories import make_organisation
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import CLIENT_ID, bind_connection
from xero_sandbox import FaultSpec


async def test_two_server_processes_never_pull_the_same_organisation_at_once(
    xero_sandbox: RunningSandbox, database: Database, settings: Settings
) -> None:
    org = xero_sandbox.organisation(contacts=5, items=2)
    secrets = SecretBox.from_text(settings.secret_key)
    second_db = Database(settings.database_url)
    stacks = [XeroAccess(settings, database, secrets), XeroAccess(settings, second_db, secrets)]
    services = [SyncService(database, stacks[0], "process-a"), SyncService(second_db, stacks[1], "process-b")]
    organisation_id = await make_organisation(database)
    tokens = xero_sandbox.handle.identity.token_response(
        xero_sandbox.handle.grant_tokens(CLIENT_ID, [org.tenant_id])
    )
    await bind_connection(stacks[0], database, organisation_id, org.tenant_id, tokens)
    # Slow Xero down so the two pulls would overlap if both were allowed to run.
    xero_sandbox.handle.add_fault(FaultSpec(kind="latency", route="GET /api.xro/2.0/*", seconds=0.1))
    try:
        runs = await asyncio.gather(*(service.run(organisation_id) for service in services))
    finally:
        for stack in stacks:
            await stack.close()
        await second_db.close()

    assert sorted(run is None for run in runs) == [False, True]
    assert sum(xero_sandbox.handle.state.calls.values()) == 7  # one pull's calls, not two


async def test_two_pulls_of_one_organisation_started_in_one_process_never_run_at_once(
    xero_sandbox: RunningSandbox, database: Database, settings: Settings
) -> None:
    # A connect's pull and a claimed scheduled pull in the same process hold the lease under the same
    # name; they overlapped and collided on the mirror's cursors until the process kept its own count.
    org = xero_sandbox.organisation(contacts=5, items=2)
    access = XeroAccess(settings, database, SecretBox.from_text(settings.secret_key))
    service = SyncService(database, access, "one-process")
    organisation_id = await make_organisation(database)
    tokens = xero_sandbox.handle.identity.token_response(
        xero_sandbox.handle.grant_tokens(CLIENT_ID, [org.tenant_id])
    )
    await bind_connection(access, database, organisation_id, org.tenant_id, tokens)
    xero_sandbox.handle.add_fault(FaultSpec(kind="latency", route="GET /api.xro/2.0/*", seconds=0.1))
    try:
        runs = await asyncio.gather(service.run(organisation_id), service.run(organisation_id))
    finally:
        await access.close()

    assert sorted(run is None for run in runs) == [False, True]
    assert sum(xero_sandbox.handle.state.calls.values()) == 7  # one pull's calls, not two


async def test_only_one_scheduler_of_a_deployment_starts_pulls(
    xero_sandbox: RunningSandbox, database: Database, settings: Settings
) -> None:
    org = xero_sandbox.organisation(contacts=1, items=1)
    secrets = SecretBox.from_text(settings.secret_key)
    access = XeroAccess(settings, database, secrets)
    organisation_id = await make_organisation(database)
    tokens = xero_sandbox.handle.identity.token_response(
        xero_sandbox.handle.grant_tokens(CLIENT_ID, [org.tenant_id])
    )
    await bind_connection(access, database, organisation_id, org.tenant_id, tokens)
    schedulers = [
        MirrorScheduler(database, SyncService(database, access, holder), timedelta(minutes=15))
        for holder in ("process-a", "process-b")
    ]
    try:
        due = [await scheduler.tick() for scheduler in schedulers]
        for scheduler in schedulers:
            await scheduler.stop()
    finally:
        await access.close()

    assert due == [[organisation_id], []]


async def test_schedule_is_derived_from_the_database_so_a_restart_pulls_only_what_is_due(
    xero_sandbox: RunningSandbox, database: Database, settings: Settings
) -> None:
    org = xero_sandbox.organisation(contacts=1, items=1)
    access = XeroAccess(settings, database, SecretBox.from_text(settings.secret_key))
    organisation_id = await make_organisation(database)
    tokens = xero_sandbox.handle.identity.token_response(
        xero_sandbox.handle.grant_tokens(CLIENT_ID, [org.tenant_id])
    )
    await bind_connection(access, database, organisation_id, org.tenant_id, tokens)
    try:
        await SyncService(database, access, "before-restart").run(organisation_id, trigger="schedule")
        restarted = MirrorScheduler(
            database, SyncService(database, access, "after-restart"), timedelta(minutes=15)
        )
        due_after_restart = await restarted.tick()
        await restarted.stop()
    finally:
        await access.close()

    assert due_after_restart == []


async def test_an_organisation_with_its_own_sync_interval_is_pulled_on_it_not_the_servers(
    xero_sandbox: RunningSandbox, database: Database, settings: Settings
) -> None:
    org = xero_sandbox.organisation(contacts=1, items=1)
    access = XeroAccess(settings, database, SecretBox.from_text(settings.secret_key))
    organisation_id = await make_organisation(database)
    tokens = xero_sandbox.handle.identity.token_response(
        xero_sandbox.handle.grant_tokens(CLIENT_ID, [org.tenant_id])
    )
    await bind_connection(access, database, organisation_id, org.tenant_id, tokens)
    scheduler = MirrorScheduler(database, SyncService(database, access, "scheduler"), timedelta(minutes=15))
    try:
        await SyncService(database, access, "earlier").run(organisation_id, trigger="schedule")
        async with database.transaction() as session:
            await session.execute(
                update(SyncRun)
                .where(SyncRun.organisation_id == organisation_id)
                .values(started_at=utcnow() - timedelta(minutes=6))
            )
        due_on_the_servers_interval = await scheduler.tick()
        await ForwardingSettingsService(database).update(
            organisation_id, "admin@example.com", SettingsChange(sync_interval_minutes=5)
        )
        due_on_its_own = await scheduler.tick()
        await scheduler.stop()
    finally:
        await access.close()

    assert due_on_the_servers_interval == []  # 6 minutes ago: not yet due every 15
    assert due_on_its_own == [organisation_id]  # but due every 5
