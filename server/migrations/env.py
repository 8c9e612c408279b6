"""Alembic environment.

``server.db.migrate`` hands in an open connection (``config.attributes["connection"]``); the
``alembic`` command line instead gets ``sqlalchemy.url`` and an async engine is made here.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from server.db.engine import create_engine
from server.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_with)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `python -m server migrate`")

given = config.attributes.get("connection")
if given is not None:
    run_with(given)
else:
    asyncio.run(run_from_url(config.get_main_option("sqlalchemy.url") or ""))
