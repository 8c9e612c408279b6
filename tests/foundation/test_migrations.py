"""The schema is made only by migrations, and they match the models."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from server.db.database import Database
from server.db.migrate import head_revisions
from server.db.models import Base


async def test_migrated_database_matches_the_models(database: Database) -> None:
    def differences(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async with database.engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_migrations_have_a_single_head() -> None:
    assert len(head_revisions()) == 1


async def test_fresh_database_is_at_the_head(database: Database) -> None:
    assert await database.migrations_current()
