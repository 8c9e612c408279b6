"""A mirror writing customer changes at a steady rate, in a process of its own (the busy scenario).

    python -m bench.writer < config.json > result.json

Config: ``database_url``, ``organisation_id``, ``tenant_id``, ``rate`` (changes/s), ``batch``
(changes per transaction), ``duration`` (seconds), ``count`` (customers to edit, the first N of
the mirror). Every change renames a mirrored customer to carry ``#bench:<batch number>`` and is
written by the mirror's own store function (``mirror_store.apply``: mirror row + feed publish, one
transaction per batch, as a mirror page is), so phones see it exactly as a Xero edit. The result
maps each batch number to the wall-clock time its transaction committed.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from typing import Any

import msgspec
from sqlalchemy import select

from bench import worker
from server.core import mirror_store
from server.core.mirror_store import Mapped
from server.db.database import Database
from server.db.mirror_models import MirrorRecord
from sync_protocol.entities import Customer, decode_entity

MARKER = r"#bench:(\d+)"


async def run(config: dict[str, Any]) -> dict[str, Any]:
    database = Database(config["database_url"])
    org = uuid.UUID(config["organisation_id"])
    tenant = config["tenant_id"]
    rate, batch_size, duration = float(config["rate"]), int(config["batch"]), float(config["duration"])
    try:
        async with database.reads() as session:
            rows = (
                await session.scalars(
                    select(MirrorRecord)
                    .where(MirrorRecord.organisation_id == org, MirrorRecord.kind == "customer")
                    .limit(int(config.get("count", 2000)))
                )
            ).all()
        customers: list[tuple[str, Customer]] = []
        for row in rows:
            entity = decode_entity("customer", row.payload)
            assert isinstance(entity, Customer)
            customers.append((row.xero_id, entity))
        commits: dict[int, float] = {}
        write_seconds: list[float] = []
        interval = batch_size / rate
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        while loop.time() - start < duration:
            due = start + n * interval
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            chosen = [customers[(n * batch_size + i) % len(customers)] for i in range(batch_size)]
            records = [
                Mapped(
                    xero_id=xero_id,
                    entity=msgspec.structs.replace(entity, name=f"{entity.name} #bench:{n}"),
                    live=True,
                    xero_updated_at=None,
                )
                for xero_id, entity in chosen
            ]
            began = time.perf_counter()
            async with database.transaction() as session:
                existing = await mirror_store.existing_rows(session, org, "customer", [x for x, _ in chosen])
                await mirror_store.apply(session, org, tenant, "customer", records, existing)
            commits[n] = time.time()
            write_seconds.append(time.perf_counter() - began)
            n += 1
        return {"commits": commits, "write_seconds": write_seconds, "batches": n, "changes": n * batch_size}
    finally:
        await database.close()


if __name__ == "__main__":
    sys.exit(worker.serve(run))
