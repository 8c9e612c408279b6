"""A WatermelonDB app, unchanged, syncing with ledgersync: the real npm package in Node.

ledgersync runs for real on loopback, connected to the Xero sandbox, mirrored, and forwarding;
``tests/watermelondb/node/test.js`` is the app (LokiJS in memory). A small control server gives the
Node test what only a test may do: make its cursor stale, count uploads, look into the sandbox.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import func, select

from server.core import feed
from server.core.feed import Change
from server.db.database import Database
from server.db.sync_models import Upload
from server.db.types import utcnow
from server.http.serving import ServerThread
from server.settings import Settings
from sync_protocol.watermelon import TABLES
from tests.fixtures.devices import PairDevice
from tests.forwarding.conftest import Forwarding
from tests.forwarding.conftest import forwarding as forwarding
from tests.forwarding.conftest import ledgersync as ledgersync
from tests.forwarding.conftest import settings as settings

NODE_APP = Path(__file__).parent / "node"
NODE_TIMEOUT = 120


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("Node.js 20 is not installed (CI installs it and runs `npm ci`: .ci/run)")
    return found


def npm_ci() -> None:
    """Installs the pinned packages (package-lock.json) unless node_modules has them already.

    Parallel test workers may all get here on a fresh clone: one installs while the others wait on a
    lock (outside node_modules, which ``npm ci`` deletes first), then find the packages in place.
    """
    installed = NODE_APP / "node_modules" / ".package-lock.json"
    lock = NODE_APP / "package-lock.json"
    name = hashlib.sha256(str(NODE_APP.resolve()).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"ledgersync-npm-ci-{name}.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
            return
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_APP, check=True, timeout=300)


Action = Callable[[dict[str, list[str]], dict[str, Any]], Awaitable[Any]]


class Control:
    """Loopback HTTP hooks for the Node test: ``GET|POST /<action>``, answered with JSON."""

    def __init__(self, actions: dict[str, Action]) -> None:
        actions_ = actions

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: dict[str, Any]) -> None:
                url = urlparse(self.path)
                action = actions_.get(url.path)
                if action is None:
                    self.send_error(404)
                    return
                result = asyncio.run(action(parse_qs(url.query), body))
                data = json.dumps(result, default=str).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer({})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._answer(json.loads(self.rfile.read(length) or b"{}"))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Control:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def control(settings: Settings, forwarding: Forwarding) -> Iterator[Control]:
    async def with_database(work: Callable[[Database], Awaitable[Any]]) -> Any:
        database = Database(settings.database_url)
        try:
            return await work(database)
        finally:
            await database.close()

    async def uploads(query: dict[str, list[str]], _: dict[str, Any]) -> Any:
        async def count(database: Database) -> int:
            async with database.sessions() as session:
                statement = select(func.count()).where(Upload.record_id == query["record_id"][0])
                return int(await session.scalar(statement) or 0)

        return {"count": await with_database(count)}

    async def stale(_: dict[str, list[str]], body: dict[str, Any]) -> Any:
        """Tombstones a customer, then purges tombstones: every cursor before now is stale."""

        async def purge(database: Database) -> int:
            organisation_id = await organisation_of_customer(database, body["customer_id"])
            async with database.transaction() as session:
                await feed.publish(session, organisation_id, [Change("customer", body["customer_id"], None)])
            async with database.transaction() as session:
                return await feed.purge_tombstones(session, organisation_id, utcnow() + timedelta(days=1))

        return {"purged": await with_database(purge)}

    async def xero_invoices(query: dict[str, list[str]], _: dict[str, Any]) -> Any:
        return {"invoices": forwarding.xero_invoices_for(query["record_id"][0])}

    async def xero_contacts(query: dict[str, list[str]], _: dict[str, Any]) -> Any:
        return {"count": len(forwarding.xero_contacts_named(query["name"][0]))}

    with Control(
        {
            "/uploads": uploads,
            "/stale": stale,
            "/xero/invoices": xero_invoices,
            "/xero/contacts": xero_contacts,
        }
    ) as running:
        yield running


async def organisation_of_customer(database: Database, customer_id: str) -> uuid.UUID:
    from server.db.models import SyncRecord

    async with database.sessions() as session:
        found = await session.scalar(
            select(SyncRecord.organisation_id).where(
                SyncRecord.entity == "customer", SyncRecord.entity_id == customer_id
            )
        )
    assert found is not None
    return found


async def test_a_watermelondb_app_mirrors_uploads_merges_replays_resyncs_and_sees_rejections(
    ledgersync: ServerThread,
    forwarding: Forwarding,
    pair_device: PairDevice,
    control: Control,
) -> None:
    executable = node()
    await asyncio.to_thread(npm_ci)
    app, other = await pair_device("WatermelonDB app"), await pair_device("Native phone")

    process = await asyncio.create_subprocess_exec(
        executable,
        "--test-reporter=spec",
        "test.js",
        cwd=NODE_APP,
        env={
            **os.environ,
            "LEDGERSYNC_URL": ledgersync.base_url,
            "DEVICE_TOKEN": app.token,
            "OTHER_TOKEN": other.token,
            "CONTROL_URL": control.url,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), NODE_TIMEOUT)

    assert process.returncode == 0, output.decode()


def test_the_schema_apps_copy_matches_the_tables_ledgersync_serves() -> None:
    script = (
        "const s = require('./schema.js');"
        "console.log(JSON.stringify(Object.values(s.tables).map(t => [t.name, t.columnArray])))"
    )
    npm_ci_needed = not (NODE_APP / "node_modules").exists()
    executable = node()
    if npm_ci_needed:
        npm_ci()
    found = json.loads(
        subprocess.run([executable, "-e", script], cwd=NODE_APP, capture_output=True, check=True).stdout
    )

    expected = [
        [
            table.name,
            [
                {
                    "name": c.name,
                    "type": c.type,
                    **({"isOptional": True} if c.is_optional else {}),
                    **({"isIndexed": True} if c.is_indexed else {}),
                }
                for c in table.columns
            ],
        ]
        for table in TABLES
    ]
    assert found == expected


def test_the_guide_shows_the_schema_and_every_column() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "watermelondb.md").read_text()

    assert (NODE_APP / "schema.js").read_text() in guide
    for table in TABLES:
        section = guide.split(f"### `{table.name}`", 1)[1].split("###", 1)[0]
        for column in ("id", *(c.name for c in table.columns)):
            assert f"| `{column}` |" in section, (table.name, column)
