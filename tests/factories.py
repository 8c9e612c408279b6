"""Factories for rows the tests need: small, explicit, one call per thing."""

from __future__ import annotations

import uuid

from server.db.database import Database
from server.db.models import Organisation


async def make_organisation(db: Database, name: str | None = None) -> uuid.UUID:
    async with db.transaction() as session:
        organisation = Organisation(name=name or f"Org {uuid.uuid4().hex[:6]}")
        session.add(organisation)
        await session.flush()
        return organisation.id
