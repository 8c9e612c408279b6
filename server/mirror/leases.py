"""Leases in the database: one holder at a time across every process sharing it.

Taking is one atomic ``UPDATE … WHERE name = :n AND (expires_at < now OR holder = me)``: of two
processes racing, the database lets exactly one row update succeed (PostgreSQL re-checks the WHERE
after the row lock; SQLite serialises writers). A holder that dies simply lets its lease lapse.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import or_, update

from server.db.database import Database
from server.db.mirror_models import Lease
from server.db.types import utcnow
from server.db.upserts import insert


def pull_lease(organisation_id: uuid.UUID) -> str:
    return f"pull:{organisation_id}"


SCHEDULER_LEASE = "scheduler"


class Leases:
    def __init__(self, database: Database, holder: str) -> None:
        self._db = database
        self.holder = holder

    async def take(self, name: str, ttl: timedelta, organisation_id: uuid.UUID | None = None) -> bool:
        """Take or extend the lease; False when another holder has it."""
        now = utcnow()
        async with self._db.transaction() as session:
            await session.execute(
                insert(session, Lease)
                .values(name=name, organisation_id=organisation_id, holder="", expires_at=now)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            taken = await session.execute(
                update(Lease)
                .where(Lease.name == name, or_(Lease.expires_at <= now, Lease.holder == self.holder))
                .values(holder=self.holder, expires_at=now + ttl)
                .returning(Lease.name)
            )
            return taken.first() is not None

    async def release(self, name: str) -> None:
        async with self._db.transaction() as session:
            await session.execute(
                update(Lease)
                .where(Lease.name == name, Lease.holder == self.holder)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )

    async def holder_of(self, name: str) -> str | None:
        async with self._db.sessions() as session:
            lease = await session.get(Lease, name)
            return lease.holder if lease is not None and lease.expires_at > utcnow() else None
