"""Due pulls are claimed work: 200 organisations due at once are pulled by every process together.

Three ``python -m server run`` processes share one PostgreSQL database. The elected scheduler records
the 200 due pulls; each process claims the oldest due ones, at most ``pulls_per_process`` at a time.
One process is SIGKILLed mid-way: its claims lapse and the others take them over. Every organisation
is pulled, by more than one process, and no organisation is ever pulled twice at once.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from datetime import datetime

import pytest
from sqlalchemy import select

from server.core.crypto import SecretBox
from server.db.database import Database
from server.db.mirror_models import SyncRun
from server.settings import Settings
from server.xero_link.access import XeroAccess
from tests.factories import make_organisation
from tests.fixtures.processes import Fleet, process_environment
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import CLIENT_ID, bind_connection

ORGANISATIONS = 200


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url  # several processes: PostgreSQL only


async def _connect_many(sandbox: RunningSandbox, database: Database, settings: Settings) -> list[uuid.UUID]:
    access = XeroAccess(settings, database, SecretBox.from_text(settings.secret_key))
    organisations = []
    try:
        for n in range(ORGANISATIONS):
            org = sandbox.organisation(name=f"Due Org {n:03d}", contacts=1, items=1)
            organisation_id = await make_organisation(database, f"Due Org {n:03d}")
            tokens = sandbox.handle.identity.token_response(
                sandbox.handle.grant_tokens(CLIENT_ID, [org.tenant_id])
            )
            await bind_connection(access, database, organisation_id, org.tenant_id, tokens)
            organisations.append(organisation_id)
    finally:
        await access.close()
    return organisations


async def _pull_runs(database: Database) -> list[SyncRun]:
    async with database.sessions() as session:
        return list(await session.scalars(select(SyncRun).where(SyncRun.kind == "pull")))


async def test_two_hundred_organisations_due_at_once_are_pulled_by_several_processes_never_one_twice_at_once(
    xero_sandbox: RunningSandbox, database: Database, settings: Settings
) -> None:
    organisations = await _connect_many(xero_sandbox, database, settings)
    fleet = Fleet(
        process_environment(
            settings,
            SYNC_INTERVAL_MINUTES="60",  # every organisation is due now (never pulled), once
            PULLS_PER_PROCESS="5",
            PULL_POLL_SECONDS="0.1",
            # A killed process's claims and leases lapse after this; longer than a pull goes
            # between renewals on a loaded machine.
            SYNC_LEASE_SECONDS="15",
            FORWARDING_WORKERS="0",
        )
    )
    rng = random.Random(22)
    try:
        for _ in range(3):
            fleet.start_server()
        deadline = asyncio.get_running_loop().time() + 600  # a loaded 2-core machine: minutes
        killed = False
        while True:
            runs = await _pull_runs(database)
            pulled = {run.organisation_id for run in runs if run.status == "succeeded"}
            if not killed and len(pulled) >= ORGANISATIONS // 4:
                fleet.kill(rng.choice(fleet.processes))  # mid-way, claims in hand
                killed = True
            if pulled >= set(organisations):
                break
            assert asyncio.get_running_loop().time() < deadline, f"{len(pulled)} of {ORGANISATIONS} pulled"
            await asyncio.sleep(0.2)
    finally:
        fleet.stop()

    runs = await _pull_runs(database)
    by_organisation: dict[uuid.UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    for run in runs:
        # An interrupted run (its process was killed) ends when its lease lapsed (finished_at).
        end = run.finished_at or run.expires_at
        assert end is not None, run.status
        by_organisation[run.organisation_id].append((run.started_at, end))
    overlapping = {
        org
        for org, spans in by_organisation.items()
        for (start_a, end_a), (start_b, _) in zip(sorted(spans), sorted(spans)[1:], strict=False)
        if start_b < end_a
    }
    processes = {run.details["process"] for run in runs if run.status == "succeeded" and run.details}
    assert set(by_organisation) == set(organisations)
    assert overlapping == set()
    assert len(processes) > 1
