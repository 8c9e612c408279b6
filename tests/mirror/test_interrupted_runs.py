"""A server process killed mid-pull (``kill -9``): its run is closed as interrupted once its lease
lapses, and Sync now goes through again - nothing stays "running" forever."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import connect, free_port, wait_for_run
from xero_sandbox import FaultSpec

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 4.0
CONTACTS = "GET /api.xro/2.0/Contacts"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(sync_lease_seconds=LEASE_SECONDS)


def server_environment(settings: Settings, port: int) -> dict[str, str]:
    values = {
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "PORT": str(port),
        "XERO_CLIENT_ID": settings.xero_client_id,
        "XERO_CLIENT_SECRET": settings.xero_client_secret,
        "XERO_REDIRECT_URL": settings.xero_redirect_url,
        "XERO_LOGIN_URL": settings.xero_login_url,
        "XERO_IDENTITY_URL": settings.xero_identity_url,
        "XERO_API_URL": settings.xero_api_url,
        "SYNC_INTERVAL_MINUTES": "0",
        "SYNC_LEASE_SECONDS": str(LEASE_SECONDS),
        "FORWARDING_WORKERS": "0",
        "LOG_LEVEL": "ERROR",
    }
    return {**os.environ, **{f"LEDGERSYNC_{name}": value for name, value in values.items()}}


def start_server(environment: dict[str, str]) -> subprocess.Popen[bytes]:
    """``python -m server run``: a second server process on the same database."""
    return subprocess.Popen(
        [sys.executable, "-m", "server", "run"], cwd=ROOT, env=environment, stderr=subprocess.DEVNULL
    )


async def until_ready(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as http:
        while True:
            assert process.poll() is None, "the server process exited"
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert asyncio.get_running_loop().time() < deadline, "the server process did not start"
            await asyncio.sleep(0.2)


async def test_a_pull_whose_server_was_killed_is_closed_as_interrupted_and_sync_now_goes_through_again(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, settings: Settings
) -> None:
    xero_sandbox.organisation(contacts=2500, items=2)
    await connect(admin_client)
    # Every page of contacts takes a while: the pull is mid-way when its process dies.
    xero_sandbox.handle.add_fault(FaultSpec(kind="latency", route=f"{CONTACTS}*", seconds=1.0))
    port = free_port()
    other = start_server(server_environment(settings, port))
    try:
        await until_ready(f"http://127.0.0.1:{port}", other)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=admin_client.headers, timeout=30
        ) as there:
            started = await there.post("/admin/api/sync", json={"types": ["customers"]})
            assert started.status_code == 202, started.text
            run_id = started.json()["run_id"]
            deadline = asyncio.get_running_loop().time() + 30
            while xero_sandbox.handle.state.calls.get(CONTACTS, 0) < 1:
                assert asyncio.get_running_loop().time() < deadline, "the pull never reached Xero"
                await asyncio.sleep(0.05)
            other.send_signal(signal.SIGKILL)
            other.wait()
        killed_at = asyncio.get_running_loop().time()

        while_held = await admin_client.post("/admin/api/sync", json={"types": ["customers"]})
        still = (await admin_client.get(f"/admin/api/sync-runs/{run_id}")).json()
        assert asyncio.get_running_loop().time() - killed_at < LEASE_SECONDS, "too slow to see the lease held"
        assert (while_held.status_code, while_held.json()["error"]["code"]) == (409, "sync_in_progress")
        assert (still["status"], still["finished_at"]) == ("running", None)

        await asyncio.sleep(LEASE_SECONDS + 0.5)
        lapsed = (await admin_client.get(f"/admin/api/sync-runs/{run_id}")).json()
        xero_sandbox.handle.faults.clear()
        again = await admin_client.post("/admin/api/sync", json={"types": ["customers"]})
        assert again.status_code == 202, again.text
        finished = await wait_for_run(admin_client, again.json()["run_id"])
        listed = (await admin_client.get("/admin/api/sync-runs", params={"kind": "pull"})).json()
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()

    assert lapsed["status"] == "interrupted"
    assert lapsed["finished_at"] is not None
    assert "interrupted" in lapsed["errors"][0]["message"]
    assert finished["status"] == "succeeded", finished["errors"]
    statuses = {run["id"]: run["status"] for run in listed["runs"]}
    assert statuses == {run_id: "interrupted", again.json()["run_id"]: "succeeded"}
