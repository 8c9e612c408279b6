"""``INSERT … ON CONFLICT`` for whichever engine a session is bound to.

SQLAlchemy's generic ``insert`` has no ON CONFLICT clause; PostgreSQL's and SQLite's dialects each
have their own, with the same ``on_conflict_do_nothing`` / ``on_conflict_do_update`` and
``excluded`` API. This picks the one the session's engine speaks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert(session: AsyncSession, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into ``table`` (a mapped class or a Table) that can take an ON CONFLICT clause."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
