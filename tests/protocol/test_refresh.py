"""A paired reference phone refreshes an organisation and then moves only what changed."""

from __future__ import annotations

import uuid

from server.db.database import Database
from tests.factories import customer, delete_entities, product, publish_entities, standard_mirror
from tests.fixtures.devices import NewPhone, server_records


async def test_a_phone_refreshes_a_thousand_customers_and_two_hundred_products(
    new_phone: NewPhone, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror(customers=1000, products=200))
    phone = await new_phone(page_limit=300)
    report = await phone.refresh()
    assert report.changes == 1205
    assert phone.store.records() == await server_records(server_db, acme_id)
    assert len(phone.store.records("customer")) == 1000
    assert len(phone.store.records("product")) == 200


async def test_the_next_refresh_moves_only_the_edits_and_deletions(
    new_phone: NewPhone, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror(customers=1000, products=200))
    phone = await new_phone()
    await phone.refresh()
    await publish_entities(server_db, acme_id, [customer(7, "Renamed"), product(3, price="1.00")])
    await delete_entities(server_db, acme_id, [("customer", customer(9).id), ("product", product(4).id)])
    report = await phone.refresh()
    assert report.changes == 4
    records = phone.store.records()
    assert records == await server_records(server_db, acme_id)
    assert ("customer", customer(9).id) not in records
    assert b'"Renamed"' in records[("customer", customer(7).id)]


async def test_a_refresh_with_nothing_new_moves_nothing(
    new_phone: NewPhone, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    phone = await new_phone()
    await phone.refresh()
    report = await phone.refresh()
    assert (report.pages, report.changes) == (0, 0)
