"""ledgersync with Xero webhooks on: a sandbox of its own that sends signed deliveries to it.

The sandbox is told ledgersync's webhook URL and key before ledgersync starts (its port is chosen
first), and sends a delivery on every change (``webhook_auto``), as Xero does.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from server.app import create_app
from server.db.database import Database
from server.db.mirror_models import SyncRun, XeroWebhookEvent
from server.http.serving import ServerThread
from server.settings import Settings
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import fast, free_port, point_at
from xero_sandbox.webhooks import sign

WEBHOOK_KEY = "live-webhook-signing-key-for-tests"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def live_sandbox(make_sandbox: Callable[..., RunningSandbox], port: int) -> RunningSandbox:
    return make_sandbox(
        auto_consent=True,
        webhook_url=f"http://127.0.0.1:{port}/xero/webhooks",
        webhook_key=WEBHOOK_KEY,
        webhook_auto=True,
    )


@pytest.fixture
def settings(settings: Settings, live_sandbox: RunningSandbox, port: int) -> Settings:
    return point_at(settings, live_sandbox, port).replace(
        xero_webhook_key=WEBHOOK_KEY, webhook_coalesce_seconds=0.2, poke_heartbeat_seconds=0.5
    )


@pytest.fixture
def ledgersync(settings: Settings) -> Iterator[ServerThread]:
    with ServerThread(fast(create_app(settings)), port=settings.port) as server:
        yield server


async def deliver(
    base_url: str, events: list[dict[str, Any]], key: str = WEBHOOK_KEY, sequence: int = 1
) -> httpx.Response:
    """A delivery signed as Xero signs it, straight to ledgersync."""
    body = json.dumps(
        {
            "events": events,
            "firstEventSequence": sequence,
            "lastEventSequence": sequence + max(len(events), 1) - 1,
            "entropy": "TESTENTROPY",
        }
    ).encode()
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        return await http.post(
            "/xero/webhooks",
            content=body,
            headers={"Content-Type": "application/json", "x-xero-signature": sign(key, body)},
        )


async def webhook_runs(settings: Settings, organisation_id: uuid.UUID) -> list[SyncRun]:
    database = Database(settings.database_url)
    try:
        async with database.sessions() as session:
            rows = await session.scalars(
                select(SyncRun)
                .where(SyncRun.organisation_id == organisation_id, SyncRun.trigger == "webhook")
                .order_by(SyncRun.started_at)
            )
            return list(rows)
    finally:
        await database.close()


async def unprocessed_events(settings: Settings) -> int:
    database = Database(settings.database_url)
    try:
        async with database.sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(XeroWebhookEvent)
                .where(XeroWebhookEvent.processed_at.is_(None))
            )
            return int(count or 0)
    finally:
        await database.close()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 15, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"not within {seconds} s: {what}"
        await asyncio.sleep(0.05)
