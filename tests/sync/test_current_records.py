"""The current-record reader: each record's feed row read once per transaction, and never stale."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import pytest
from sqlalchemy import event

from server.core import feed
from server.core.current import current_records
from server.core.fate import current_record
from server.core.records import lock_organisation
from server.db.database import Database
from sync_protocol.entities import encode_entity
from tests.factories import customer, make_organisation, publish_entities


@pytest.fixture
async def org(database: Database) -> uuid.UUID:
    return await make_organisation(database)


@contextmanager
def feed_reads(database: Database) -> Iterator[list[str]]:
    """The statements that read ``sync_records`` while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "sync_records" in statement:
            seen.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)


async def test_a_record_is_read_once_per_transaction_whoever_asks(database: Database, org: uuid.UUID) -> None:
    ann = customer(1, "Ann")
    await publish_entities(database, org, [ann])
    with feed_reads(database) as reads:
        async with database.transaction() as session:
            await lock_organisation(session, org)
            assert await current_record(session, org, "customer", ann.id) == ann
            assert await current_record(session, org, "customer", ann.id) == ann
            assert await feed.current_payloads(session, org, [("customer", ann.id)]) == {
                ("customer", ann.id): encode_entity(ann)
            }
    # Push validation (``RecordView.get``) reads the feed itself for now: through this reader it judged
    # an edit against a stale record (convergence seed 7), cause not yet found.
    assert len(reads) == 1


async def test_a_transaction_reads_back_what_it_published(database: Database, org: uuid.UUID) -> None:
    ann = customer(1, "Ann")
    await publish_entities(database, org, [ann])
    renamed = msgspec.structs.replace(ann, name="Ann renamed")
    async with database.transaction() as session:
        assert await current_record(session, org, "customer", ann.id) == ann
        await feed.publish(session, org, [feed.Change("customer", renamed.id, encode_entity(renamed))])
        assert await current_record(session, org, "customer", renamed.id) == renamed
        row = await current_records(session, org).row("customer", renamed.id)
        assert row is not None
        assert row[0] == 2  # the version it was published with
        await feed.publish(session, org, [feed.Change("customer", renamed.id, None)])
        assert await current_record(session, org, "customer", renamed.id) is None


async def test_the_next_transaction_reads_the_record_afresh(database: Database, org: uuid.UUID) -> None:
    ann = customer(1, "Ann")
    renamed = msgspec.structs.replace(ann, name="Ann renamed")
    await publish_entities(database, org, [ann])
    async with database.transaction() as session:
        assert await current_record(session, org, "customer", ann.id) == ann
    await publish_entities(database, org, [renamed])
    async with database.transaction() as session:
        assert await current_record(session, org, "customer", ann.id) == renamed


async def test_rows_read_before_the_organisation_lock_are_read_again_under_it(
    database: Database, org: uuid.UUID
) -> None:
    """On PostgreSQL a writer holding the lock may commit between the read and taking the lock."""
    ann = customer(1, "Ann")
    await publish_entities(database, org, [ann])
    async with database.transaction() as session:
        assert await current_record(session, org, "customer", ann.id) == ann
        with feed_reads(database) as reads:
            await lock_organisation(session, org)
            assert await current_record(session, org, "customer", ann.id) == ann
            await lock_organisation(session, org)  # held already: nothing is forgotten
            assert await current_record(session, org, "customer", ann.id) == ann
    assert len(reads) == 1


async def test_a_commit_made_before_the_lock_is_seen_under_it(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's writers take the write lock at BEGIN: no commit can land in between")
    first, second = Database(database_url), Database(database_url)
    try:
        org = await make_organisation(first)
        ann = customer(1, "Ann")
        renamed = msgspec.structs.replace(ann, name="Ann renamed")
        await publish_entities(first, org, [ann])
        async with first.transaction() as session:
            assert await current_record(session, org, "customer", ann.id) == ann
            await publish_entities(second, org, [renamed])  # commits meanwhile
            await lock_organisation(session, org)
            assert await current_record(session, org, "customer", ann.id) == renamed
    finally:
        await first.close()
        await second.close()
