"""The change feed: records come out in version order, nothing is skipped, nothing repeats."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta

import pytest

from server.core import feed
from server.core.feed import Change, ResyncRequired
from server.db.database import Database
from server.db.types import utcnow
from tests.factories import make_organisation


def customer(n: int, name: str = "") -> Change:
    return Change("customer", f"c{n}", f'{{"name":"{name or n}"}}'.encode())


def gone(n: int) -> Change:
    return Change("customer", f"c{n}", None)


@pytest.fixture
async def org(database: Database) -> uuid.UUID:
    return await make_organisation(database)


async def publish(db: Database, org: uuid.UUID, *changes: Change) -> int:
    async with db.transaction() as session:
        return await feed.publish(session, org, changes)


async def pull(db: Database, org: uuid.UUID, after: int, limit: int = 1000) -> feed.FeedPage:
    async with db.snapshot() as session:
        return await feed.read(session, org, after, limit)


async def test_records_come_out_in_the_order_they_were_published(database: Database, org: uuid.UUID) -> None:
    await publish(database, org, customer(1), customer(2))
    await publish(database, org, customer(3))
    page = await pull(database, org, 0)
    assert [r.entity_id for r in page.rows] == ["c1", "c2", "c3"]
    assert [r.version for r in page.rows] == [1, 2, 3]
    assert page.cursor == 3
    assert not page.has_more


async def test_an_unchanged_record_makes_no_change(database: Database, org: uuid.UUID) -> None:
    await publish(database, org, customer(1, "Ann"))
    assert await publish(database, org, customer(1, "Ann")) == 0
    assert (await pull(database, org, 1)).rows == []


async def test_an_edit_moves_the_record_past_the_cursor(database: Database, org: uuid.UUID) -> None:
    await publish(database, org, customer(1, "Ann"), customer(2, "Bob"))
    await publish(database, org, customer(1, "Annie"))
    page = await pull(database, org, 2)
    assert [(r.entity_id, r.payload) for r in page.rows] == [("c1", b'{"name":"Annie"}')]


async def test_deletion_reaches_cursors_that_saw_the_record(database: Database, org: uuid.UUID) -> None:
    await publish(database, org, customer(1))
    await publish(database, org, gone(1))
    page = await pull(database, org, 1)
    assert [(r.entity_id, r.deleted) for r in page.rows] == [("c1", True)]


async def test_a_snapshot_leaves_out_tombstones(database: Database, org: uuid.UUID) -> None:
    await publish(database, org, customer(1), customer(2))
    await publish(database, org, gone(1))
    page = await pull(database, org, 0)
    assert [r.entity_id for r in page.rows] == ["c2"]
    assert page.cursor == 3


async def test_deleting_a_record_no_phone_saw_is_no_change(database: Database, org: uuid.UUID) -> None:
    assert await publish(database, org, gone(99)) == 0


async def test_pages_walk_every_record_once(database: Database, org: uuid.UUID) -> None:
    await publish(database, org, *(customer(n) for n in range(25)))
    seen: list[str] = []
    cursor, has_more = 0, True
    while has_more:
        page = await pull(database, org, cursor, limit=10)
        seen += [r.entity_id for r in page.rows]
        cursor, has_more = page.cursor, page.has_more
    assert seen == [f"c{n}" for n in range(25)]


async def test_organisations_do_not_see_each_others_records(database: Database, org: uuid.UUID) -> None:
    other = await make_organisation(database)
    await publish(database, other, customer(1))
    assert (await pull(database, org, 0)).rows == []


async def test_a_cursor_below_the_purged_tombstones_must_resync(database: Database, org: uuid.UUID) -> None:
    await publish(database, org, customer(1), customer(2))
    await publish(database, org, gone(1))
    async with database.transaction() as session:
        assert await feed.purge_tombstones(session, org, utcnow() + timedelta(seconds=1)) == 1
    with pytest.raises(ResyncRequired):
        await pull(database, org, 2)
    assert (await pull(database, org, 3)).rows == []


async def test_a_cursor_from_before_a_reset_must_resync(database: Database, org: uuid.UUID) -> None:
    await publish(database, org, customer(1))
    async with database.transaction() as session:
        await feed.invalidate_cursors(session, org)
    with pytest.raises(ResyncRequired):
        await pull(database, org, 1)
    fresh = await pull(database, org, 0)
    assert (await pull(database, org, fresh.cursor)).rows == []


async def test_a_cursor_from_the_future_must_resync(database: Database, org: uuid.UUID) -> None:
    await publish(database, org, customer(1))
    with pytest.raises(ResyncRequired):
        await pull(database, org, 50)


async def test_no_change_is_skipped_while_writers_commit_concurrently(database_url: str) -> None:
    """Writers hold their version open for a random while; a poller must still see every change."""
    writers_db, reader_db = Database(database_url), Database(database_url)
    org = await make_organisation(writers_db)
    rng = random.Random(7)
    writes = 60

    async def writer(n: int) -> None:
        await asyncio.sleep(rng.random() * 0.3)
        async with writers_db.transaction() as session:
            await feed.publish(session, org, [customer(n, f"v{n}")])
            await asyncio.sleep(rng.random() * 0.05)  # commit late: another writer may want a version now

    seen: dict[str, int] = {}
    cursor = 0

    async def poll_once() -> None:
        nonlocal cursor
        page = await pull(reader_db, org, cursor)
        for row in page.rows:
            assert row.version > cursor
            seen[row.entity_id] = row.version
        cursor = page.cursor

    try:
        tasks = [asyncio.create_task(writer(n)) for n in range(writes)]
        while not all(t.done() for t in tasks):
            await poll_once()
            await asyncio.sleep(0.005)
        await asyncio.gather(*tasks)
        await poll_once()
    finally:
        await writers_db.close()
        await reader_db.close()
    assert sorted(seen) == sorted(f"c{n}" for n in range(writes))
