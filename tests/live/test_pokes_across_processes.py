"""Two server processes on one PostgreSQL database: a change one of them pulls from Xero pokes the
phones holding the stream on the other (``LISTEN/NOTIFY``), within seconds, not at a heartbeat.

The other process is ``python -m server run``, an OS process of its own, as a deployment runs it.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from server.http.serving import ServerThread
from server.settings import Settings
from tests.fixtures.devices import PairDevice
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import free_port, sync_and_wait
from tests.live.test_pokes import connected, poke_stream, pull
from tests.mirror.test_interrupted_runs import server_environment, start_server, until_ready


async def test_a_change_pulled_by_one_server_process_pokes_a_phone_streaming_from_another_process(
    live_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    ledgersync: ServerThread,
    settings: Settings,
    pair_device: PairDevice,
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("across processes is PostgreSQL's LISTEN/NOTIFY; SQLite serves one process")
    org = live_sandbox.organisation(contacts=5, items=1)
    await connected(admin_client)
    # Only this test's own Sync now pulls the change (in the test's server process), not a webhook
    # delivery that either process's webhook worker could take.
    live_sandbox.handle.webhooks.url = None
    phone = await pair_device()
    snapshot = await pull(ledgersync.base_url, phone, 0)
    port = free_port()
    environment = server_environment(settings, port)
    # Its heartbeats are a minute apart: only the notification can poke in time.
    environment["LEDGERSYNC_POKE_HEARTBEAT_SECONDS"] = "60"
    other = start_server(environment)
    try:
        other_url = f"http://127.0.0.1:{port}"
        await until_ready(other_url, other)
        async with poke_stream(other_url, phone) as stream:
            first = await stream.poke()
            assert first.id == snapshot["cursor"]
            contact_id = next(iter(org.contacts)).lower()
            edited = live_sandbox.control().post(
                f"/organisations/{org.tenant_id}/contacts/{contact_id}",
                json={"EmailAddress": "across@example.com"},
            )
            assert edited.status_code == 200, edited.text
            run = await sync_and_wait(admin_client, ["customers"])
            pulled_at = time.monotonic()
            assert run["status"] == "succeeded", run["errors"]
            assert run["updated"] >= 1

            poked = await stream.poke(within=5)
            poked_in = time.monotonic() - pulled_at

        assert first.id is not None
        assert poked.id is not None
        assert poked.id > first.id
        assert poked_in < 3, poked_in
        changes = await pull(other_url, phone, int(str(snapshot["cursor"])))
        emails = [c["record"]["email"] for c in changes["changes"] if c["entity"] == "customer"]  # type: ignore[attr-defined, index]
        assert emails == ["across@example.com"]
    finally:
        if other.poll() is None:
            other.terminate()
            await asyncio.to_thread(other.wait)
