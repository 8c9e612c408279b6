"""A stale cursor gets resync_required; the phone recovers from a snapshot and keeps its queue."""

from __future__ import annotations

import uuid
from datetime import timedelta

from server.core import feed
from server.db.database import Database
from server.db.types import utcnow
from tests.factories import customer, delete_entities, publish_entities, standard_mirror
from tests.fixtures.devices import NewPhone, server_records


async def test_a_phone_behind_the_horizon_resyncs_and_keeps_its_unsent_uploads(
    new_phone: NewPhone, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror(customers=5))
    phone = await new_phone()
    await phone.refresh()
    new_customer = phone.create_customer("Made offline")
    await delete_entities(server_db, acme_id, [("customer", customer(2).id)])
    await publish_entities(server_db, acme_id, [customer(3, "Edited while away")])
    async with server_db.transaction() as session:
        await feed.purge_tombstones(session, acme_id, older_than=utcnow() + timedelta(seconds=1))

    report = await phone.refresh()

    assert report.resynced
    assert phone.store.records() == await server_records(server_db, acme_id)
    assert phone.store.pending_count() == 1
    [result] = await phone.upload()
    assert (result.status, result.record_id) == ("applied", new_customer)


async def test_a_phone_resyncs_after_a_mirror_reset(
    new_phone: NewPhone, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    phone = await new_phone()
    await phone.refresh()
    async with server_db.transaction() as session:
        await feed.invalidate_cursors(session, acme_id)
    assert (await phone.refresh()).resynced
    assert phone.store.records() == await server_records(server_db, acme_id)
