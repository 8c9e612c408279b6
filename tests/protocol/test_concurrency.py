"""Twenty phones pushing and pulling while the mirror publishes: each ends with the server's state."""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest

from reference_client import Phone
from reference_client.phone import Line
from server.db.database import Database
from tests.factories import customer, product, publish_entities, standard_mirror
from tests.fixtures.devices import NewPhone, server_records

PHONES = 20
ROUNDS = 4


async def mirror_writer(database: Database, organisation_id: uuid.UUID, stop: asyncio.Event) -> int:
    """Publishes edits of mirror records until told to stop, as a busy Xero mirror would."""
    rng = random.Random(7)
    edits = 0
    while not stop.is_set():
        batch = [customer(rng.randint(1, 50), f"edit {edits}-{n}") for n in range(5)]
        await publish_entities(
            database, organisation_id, [*batch, product(rng.randint(1, 10), f"{edits % 90 + 1}.00")]
        )
        edits += 1
        await asyncio.sleep(0.005)
    return edits


async def busy_phone(phone: Phone, rounds: int) -> None:
    for n in range(rounds):
        await phone.refresh()
        customer_id = phone.create_customer(f"walk-in {n}")
        invoice_id = phone.create_invoice(customer_id, [Line("1", "10.00", tax_type="OUTPUT2")])
        phone.create_payment(invoice_id, "5.00", "090")
        results = await phone.upload()
        assert [r.status for r in results] == ["applied"] * 3, results


async def test_twenty_phones_end_with_exactly_the_servers_state(
    database_url: str, new_phone: NewPhone, server_db: Database, acme_id: uuid.UUID
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("the concurrency guarantee is exercised against PostgreSQL")
    await publish_entities(server_db, acme_id, standard_mirror(customers=50, products=10))
    phones = [await new_phone(f"staff {n}", page_limit=40) for n in range(PHONES)]
    stop = asyncio.Event()
    writer = asyncio.create_task(mirror_writer(server_db, acme_id, stop))

    await asyncio.gather(*(busy_phone(phone, ROUNDS) for phone in phones))
    stop.set()
    assert await writer > 0

    for phone in phones:
        await phone.refresh()
    expected = await server_records(server_db, acme_id)
    assert len(expected) > 50 + 10 + PHONES * ROUNDS * 3
    for phone in phones:
        assert phone.store.records() == expected
