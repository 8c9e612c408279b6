"""The change feed: records come out in version order, nothing is skipped, nothing repeats.

Each contract holds for ``feed.read`` (a page in memory) and for the pull phones get
(``PullService``, its streamed bytes read back as a page): both read through ``feed.FeedRead``.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import msgspec
import pytest

from server.core import feed
from server.core.feed import Change, ResyncRequired
from server.core.pull import PullService
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


Pull = Callable[..., Awaitable[feed.FeedPage]]


async def read_page(db: Database, org: uuid.UUID, after: int, limit: int = 1000) -> feed.FeedPage:
    async with db.snapshot() as session:
        return await feed.read(session, org, after, limit)


class _Change(msgspec.Struct):
    version: int
    entity: str
    id: str
    record: msgspec.Raw


class _Answer(msgspec.Struct):
    changes: list[_Change]
    cursor: int
    has_more: bool


async def read_native(db: Database, org: uuid.UUID, after: int, limit: int = 1000) -> feed.FeedPage:
    """What ``GET /mobile/v1/changes`` sends, as a page (a record's bytes as the feed holds them)."""
    body = await PullService(db).pull(org, after, limit)  # raises the one ResyncRequired, as feed.read does
    assert body.chunks is not None
    answer = msgspec.json.decode(b"".join([chunk async for chunk in body.chunks]), type=_Answer)
    rows = [
        feed.FeedRow(c.entity, c.id, c.version, None if bytes(c.record) == b"null" else bytes(c.record))
        for c in answer.changes
    ]
    return feed.FeedPage(rows, answer.cursor, answer.has_more)


@pytest.fixture(params=["page", "native"])
def pull(request: pytest.FixtureRequest) -> Pull:
    return read_page if request.param == "page" else read_native


async def test_records_come_out_in_the_order_they_were_published(
    database: Database, org: uuid.UUID, pull: Pull
) -> None:
    await publish(database, org, customer(1), customer(2))
    await publish(database, org, customer(3))
    page = await pull(database, org, 0)
    assert [r.entity_id for r in page.rows] == ["c1", "c2", "c3"]
    assert [r.version for r in page.rows] == [1, 2, 3]
    assert page.cursor == 3
    assert not page.has_more


async def test_an_unchanged_record_makes_no_change(database: Database, org: uuid.UUID, pull: Pull) -> None:
    await publish(database, org, customer(1, "Ann"))
    assert await publish(database, org, customer(1, "Ann")) == 0
    assert (await pull(database, org, 1)).rows == []


async def test_an_edit_moves_the_record_past_the_cursor(
    database: Database, org: uuid.UUID, pull: Pull
) -> None:
    await publish(database, org, customer(1, "Ann"), customer(2, "Bob"))
    await publish(database, org, customer(1, "Annie"))
    page = await pull(database, org, 2)
    assert [(r.entity_id, r.payload) for r in page.rows] == [("c1", b'{"name":"Annie"}')]


async def test_deletion_reaches_cursors_that_saw_the_record(
    database: Database, org: uuid.UUID, pull: Pull
) -> None:
    await publish(database, org, customer(1))
    await publish(database, org, gone(1))
    page = await pull(database, org, 1)
    assert [(r.entity_id, r.deleted) for r in page.rows] == [("c1", True)]


async def test_a_snapshot_leaves_out_tombstones(database: Database, org: uuid.UUID, pull: Pull) -> None:
    await publish(database, org, customer(1), customer(2))
    await publish(database, org, gone(1))
    page = await pull(database, org, 0)
    assert [r.entity_id for r in page.rows] == ["c2"]
    assert page.cursor == 3


async def test_deleting_a_record_no_phone_saw_is_no_change(database: Database, org: uuid.UUID) -> None:
    assert await publish(database, org, gone(99)) == 0


async def test_pages_walk_every_record_once(database: Database, org: uuid.UUID, pull: Pull) -> None:
    await publish(database, org, *(customer(n) for n in range(25)))
    seen: list[str] = []
    cursor, has_more = 0, True
    while has_more:
        page = await pull(database, org, cursor, limit=10)
        seen += [r.entity_id for r in page.rows]
        cursor, has_more = page.cursor, page.has_more
    assert seen == [f"c{n}" for n in range(25)]


async def test_large_pages_stream_in_partitions_and_walk_every_record_once(
    database: Database, org: uuid.UUID, pull: Pull
) -> None:
    """Past ``feed.PARTITION`` rows a page streams through a server-side cursor; a page that ends
    on a partition's last row still says it has more."""
    total = 2 * feed.PARTITION + 1
    await publish(database, org, *(customer(n) for n in range(total)))
    pages = []
    cursor, has_more = 0, True
    while has_more:
        page = await pull(database, org, cursor, limit=feed.PARTITION)
        pages.append((len(page.rows), page.cursor, page.has_more))
        cursor, has_more = page.cursor, page.has_more
    assert pages == [
        (feed.PARTITION, feed.PARTITION, True),
        (feed.PARTITION, 2 * feed.PARTITION, True),
        (1, total, False),
    ]
    whole = await pull(database, org, 0, limit=total)
    assert [r.entity_id for r in whole.rows] == [f"c{n}" for n in range(total)]
    assert (whole.cursor, whole.has_more) == (total, False)


async def test_organisations_do_not_see_each_others_records(
    database: Database, org: uuid.UUID, pull: Pull
) -> None:
    other = await make_organisation(database)
    await publish(database, other, customer(1))
    assert (await pull(database, org, 0)).rows == []


async def test_a_cursor_below_the_purged_tombstones_must_resync(
    database: Database, org: uuid.UUID, pull: Pull
) -> None:
    await publish(database, org, customer(1), customer(2))
    await publish(database, org, gone(1))
    async with database.transaction() as session:
        assert await feed.purge_tombstones(session, org, utcnow() + timedelta(seconds=1)) == 1
    with pytest.raises(ResyncRequired):
        await pull(database, org, 2)
    assert (await pull(database, org, 3)).rows == []


async def test_a_cursor_from_before_a_reset_must_resync(
    database: Database, org: uuid.UUID, pull: Pull
) -> None:
    await publish(database, org, customer(1))
    async with database.transaction() as session:
        await feed.invalidate_cursors(session, org)
    with pytest.raises(ResyncRequired):
        await pull(database, org, 1)
    fresh = await pull(database, org, 0)
    assert (await pull(database, org, fresh.cursor)).rows == []


async def test_a_cursor_from_the_future_must_resync(database: Database, org: uuid.UUID, pull: Pull) -> None:
    await publish(database, org, customer(1))
    with pytest.raises(ResyncRequired):
        await pull(database, org, 50)


async def test_no_change_is_skipped_while_writers_commit_concurrently(database_url: str, pull: Pull) -> None:
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
