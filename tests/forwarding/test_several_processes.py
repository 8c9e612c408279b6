"""``python -m server run --processes 3``: three OS processes behind one port, over one PostgreSQL.

Each process serves HTTP and runs its forwarding worker; one is SIGKILLed mid-upload, mid-forward.
The port keeps answering (the others, and the worker uvicorn starts in its place), and the phone's
invoices reach Xero exactly once: the dead process's claims lapse and another process takes them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reference_client import Phone
from reference_client.phone import Line
from server.settings import Settings
from tests.fixtures.devices import NewPhone
from tests.fixtures.xero_connect import free_port
from tests.forwarding.conftest import SALES, Forwarding, settle
from tests.forwarding.test_crash_safety import worker_environment
from xero_sandbox.faults import FaultSpec

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(forwarding_workers=0)  # only the three processes below forward


@pytest.fixture
def three_processes(forwarding: Forwarding, settings: Settings) -> Iterator[str]:
    """``python -m server run --processes 3`` on a port of its own; yields its base URL."""
    port = free_port()
    environment = {**worker_environment(settings), "LEDGERSYNC_SYNC_INTERVAL_MINUTES": "0"}
    command = [sys.executable, "-m", "server", "run", "--processes", "3", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"the server exited with {process.returncode}"
            try:
                if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def answering_processes(base_url: str, requests: int = 60) -> Counter[int]:
    """Which process answered each of ``requests`` concurrent /healthz on connections of their own."""

    async def one() -> int:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            response = await http.get("/healthz")
            assert response.status_code == 200
            process: int = response.json()["process"]
            return process

    return Counter(await asyncio.gather(*(one() for _ in range(requests))))


async def test_three_processes_share_the_port_and_a_killed_one_loses_no_upload(
    forwarding: Forwarding, new_phone: NewPhone, three_processes: str
) -> None:
    answered: Counter[int] = Counter()
    for _ in range(20):  # the kernel hands each new connection to whichever process accepts first
        answered += await answering_processes(three_processes)
        if len(answered) >= 2:
            break
    assert len(answered) >= 2, f"one process answered everything: {answered}"
    assert os.getpid() not in answered

    paired = await new_phone(batch_size=10)
    phone = Phone(three_processes, store=paired.store, token=paired.token, batch_size=10)
    try:
        await phone.refresh()
        customers = [phone.create_customer(f"Process Customer {n}") for n in range(5)]
        first = [
            phone.create_invoice(
                customers[n % 5], [Line("1", f"{10 + n}.00", tax_type="OUTPUT2", account_code=SALES)]
            )
            for n in range(20)
        ]
        # Slow writes, so the kill below lands while invoices are claimed by the processes.
        forwarding.sandbox.handle.add_fault(
            FaultSpec(kind="latency", route="PUT /api.xro/2.0/*", seconds=0.3)
        )
        assert {r.status for r in await phone.upload()} == {"applied"}

        victim = answered.most_common(1)[0][0]
        os.kill(victim, signal.SIGKILL)
        second = [
            phone.create_invoice(
                customers[n % 5], [Line("2", f"{40 + n}.00", tax_type="OUTPUT2", account_code=SALES)]
            )
            for n in range(20)
        ]
        # Pushed around the kill: a push on the dead process's connection is resent by the phone.
        assert {r.status for r in await phone.upload()} == {"applied"}
        after = await answering_processes(three_processes)
        assert victim not in after
        assert sum(after.values()) == 60  # every request answered, by the processes left and the new one
    finally:
        await phone.close()

    counts = await settle(forwarding.admin, within=180)
    assert counts["done"] == 5 + 40, counts
    urls = Counter(str(i.get("Url", "")).rsplit("/", 1)[-1] for i in forwarding.xero_org.invoices.values())
    assert {invoice: urls[invoice] for invoice in first + second} == dict.fromkeys(first + second, 1)
    assert len(forwarding.xero_org.invoices) == 40
    names = Counter(c["Name"] for c in forwarding.xero_org.contacts.values())
    assert all(names[f"Process Customer {n}"] == 1 for n in range(5))
