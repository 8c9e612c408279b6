"""Tombstone retention: the scheduler purges old tombstones, and only cursors older than the horizon resync.

The server runs with a one-day retention and a purge every half second; a tombstone is made "old" by
moving its ``changed_at`` two days back (the test stands in for the passing of time).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from server.core.crypto import new_key_text
from server.db.database import Database
from server.db.models import SyncRecord
from server.db.types import utcnow
from server.settings import Settings
from tests.factories import customer, delete_entities, publish_entities, standard_mirror

CHANGES = "/mobile/v1/changes"
WATERMELON_PULL = "/mobile/v1/watermelon/pull"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=new_key_text(),
        log_level="WARNING",
        tombstone_retention_days=1,
        tombstone_purge_seconds=0.5,
    )


async def cursor_now(mobile: httpx.AsyncClient, cursor: int = 0) -> int:
    response = await mobile.get(CHANGES, params={"cursor": cursor, "limit": 100000})
    assert response.status_code == 200, response.text
    found: int = response.json()["cursor"]
    return found


async def watermelon_pull(mobile: httpx.AsyncClient, last_pulled_at: int) -> dict[str, Any]:
    response = await mobile.get(WATERMELON_PULL, params={"last_pulled_at": last_pulled_at})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def age(db: Database, organisation_id: uuid.UUID, customer_id: str, days: int) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(SyncRecord)
            .where(
                SyncRecord.organisation_id == organisation_id,
                SyncRecord.entity == "customer",
                SyncRecord.entity_id == customer_id,
            )
            .values(changed_at=utcnow() - timedelta(days=days))
        )


async def test_tombstones_past_the_retention_are_purged_on_schedule_and_only_older_cursors_resync(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror(customers=5))
    old_cursor = await cursor_now(mobile)
    old_timestamp = (await watermelon_pull(mobile, 0))["timestamp"]
    await delete_entities(server_db, acme_id, [("customer", customer(2).id)])
    await age(server_db, acme_id, customer(2).id, days=2)  # older than the one-day retention
    newer_cursor = await cursor_now(mobile, old_cursor)
    newer_timestamp = (await watermelon_pull(mobile, old_timestamp))["timestamp"]
    await delete_entities(server_db, acme_id, [("customer", customer(3).id)])  # within the retention

    stale: httpx.Response | None = None
    for _ in range(100):  # the purge job runs every half second
        stale = await mobile.get(CHANGES, params={"cursor": old_cursor})
        if stale.status_code == 409:
            break
        await asyncio.sleep(0.2)

    assert stale is not None
    assert stale.status_code == 409, stale.text
    error = stale.json()["error"]
    assert error["code"] == "resync_required"
    assert error["details"]["cursor"] == old_cursor
    assert old_cursor < error["details"]["horizon"] <= newer_cursor
    fresh = await mobile.get(CHANGES, params={"cursor": newer_cursor})
    assert fresh.status_code == 200, fresh.text
    assert [(c["id"], c["record"]) for c in fresh.json()["changes"]] == [(customer(3).id, None)]
    replaced = await watermelon_pull(mobile, old_timestamp)
    assert replaced["experimentalStrategy"] == "replacement"
    assert {r["id"] for r in replaced["changes"]["customers"]["updated"]} == {
        customer(n).id for n in (1, 4, 5)
    }
    incremental = await watermelon_pull(mobile, newer_timestamp)
    assert "experimentalStrategy" not in incremental
    assert incremental["changes"]["customers"]["deleted"] == [customer(3).id]
