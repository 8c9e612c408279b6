"""``python -m server demo``: ledgersync on a demo SQLite file, ready to click through."""

from __future__ import annotations

import asyncio
import contextlib

from server.cli import serve
from server.db.database import Database
from server.errors import Conflict
from server.services.admins import AdminService
from server.settings import Settings

DEMO_DATABASE = "sqlite:///var/demo.sqlite3"
DEMO_ADMIN_EMAIL = "admin@demo.example"
DEMO_ADMIN_PASSWORD = "demo-password"
DEMO_ORGANISATION = "Demo Field Services"


async def _prepare(settings: Settings) -> None:
    database = Database(settings.database_url)
    try:
        await database.migrate()
        with contextlib.suppress(Conflict):  # a previous demo run made it
            await AdminService(database).create_admin(
                DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_ORGANISATION
            )
    finally:
        await database.close()


def run_demo(settings: Settings, host: str, port: int) -> int:
    settings = settings.replace(
        host=host,
        port=port,
        database_url=settings.database_url
        if settings.database_url != Settings().database_url
        else DEMO_DATABASE,
    )
    asyncio.run(_prepare(settings))
    base = settings.base_url
    print(
        f"""
ledgersync demo
  server        {base}
  ready?        {base}/readyz
  API docs      {base}/schema
  admin         {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}   (POST {base}/admin/api/session)
  database      {settings.database_url}
Press Ctrl-C to stop.
""",
        flush=True,
    )
    return serve(settings)
