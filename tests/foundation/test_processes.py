"""Several server processes: refused on SQLite, and each process's PostgreSQL pool is bounded."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from server.core.crypto import new_key_text
from server.db.database import Database

ROOT = Path(__file__).resolve().parents[2]


def test_several_processes_on_sqlite_are_refused_with_the_reason(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERSYNC_")}
    env.update(
        LEDGERSYNC_DATABASE_URL=f"sqlite:///{tmp_path / 'one.sqlite3'}", LEDGERSYNC_SECRET_KEY=new_key_text()
    )
    done = subprocess.run(
        [sys.executable, "-m", "server", "run", "--processes", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--processes 2 needs PostgreSQL" in done.stderr
    assert not (tmp_path / "one.sqlite3").exists()  # refused before anything was opened


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_process_never_holds_more_postgresql_connections_than_its_pool_size(
    database_url: str,
) -> None:
    database = Database(database_url, pool_size=2)
    try:

        async def backend() -> int:
            async with database.transaction() as session:
                pid: int = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                await session.execute(text("SELECT pg_sleep(0.1)"))
                return pid

        backends = await asyncio.gather(*(backend() for _ in range(8)))
    finally:
        await database.close()
    assert len(backends) == 8  # all eight were served, two at a time
    assert len(set(backends)) <= 2
