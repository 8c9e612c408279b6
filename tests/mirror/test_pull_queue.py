"""Due pulls as claimed rows, on both engines: oldest due first, one claimant each, claims that lapse."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from server.core.crypto import SecretBox
from server.db.database import Database
from server.db.types import utcnow
from server.mirror.pull_queue import PullWorkers
from server.mirror.service import SyncService
from server.settings import Settings
from server.xero_link.access import XeroAccess
from tests.factories import make_organisation


def workers(database: Database, settings: Settings, holder: str, ttl: timedelta) -> PullWorkers:
    access = XeroAccess(settings, database, SecretBox.from_text(settings.secret_key))
    return PullWorkers(database, SyncService(database, access, holder), per_process=2, claim_ttl=ttl)


async def test_due_pulls_are_claimed_oldest_first_by_one_process_each_and_lapse_with_their_claimant(
    database: Database, settings: Settings
) -> None:
    organisations = [await make_organisation(database, f"Org {n}") for n in range(5)]
    first = workers(database, settings, "process-a", timedelta(seconds=0.5))
    second = workers(database, settings, "process-b", timedelta(minutes=5))
    now = utcnow()
    # Fell due 5, 4, ... 1 minutes ago: the first organisation has waited longest.
    await first.add({org: now - timedelta(minutes=5 - n) for n, org in enumerate(organisations)}, "schedule")
    await first.add(
        {organisations[4]: now - timedelta(hours=1)}, "schedule"
    )  # already waiting: keeps its place

    taken_first = await first.claim(2)
    taken_second = await second.claim(10)
    nothing_left = await second.claim(10)
    await asyncio.sleep(0.6)  # process-a died: its claims lapse
    taken_over = await second.claim(10)

    assert [org for org, _ in taken_first] == organisations[:2]
    assert [org for org, _ in taken_second] == organisations[2:]
    assert nothing_left == []
    assert [org for org, _ in taken_over] == organisations[:2]
    assert {trigger for _, trigger in taken_first + taken_second} == {"schedule"}
