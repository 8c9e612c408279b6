"""Nothing doubled in Xero: workers killed at random, connections dropped after Xero committed.

The sandbox here forgets Idempotency-Keys at once (as Xero does once its window has passed), so
only ledgersync's reconciliation - finding a create in Xero by the id it wrote on it - stands
between a lost answer and a duplicate.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import msgspec
import pytest

from reference_client.phone import Line
from server.settings import Settings
from sync_protocol.entities import Invoice
from tests.fixtures.devices import NewPhone
from tests.fixtures.sandbox import RunningSandbox, sandbox_config, start_sandbox
from tests.fixtures.xero_spec import XeroSpec
from tests.forwarding.conftest import SALES, Forwarding, settle
from xero_sandbox.faults import FaultSpec
from xero_sandbox.invoices import online_invoice_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def xero_sandbox(xero_spec: XeroSpec) -> Iterator[RunningSandbox]:
    """Idempotency-Keys are forgotten after one sandbox second (1/60 s): no replay can save a resend."""
    with ExitStack() as stack:
        yield start_sandbox(stack, sandbox_config(auto_consent=True, idempotency_window_seconds=1), xero_spec)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(forwarding_workers=0)  # only the worker processes below forward


def worker_environment(settings: Settings) -> dict[str, str]:
    values = {
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "PORT": str(settings.port),
        "XERO_CLIENT_ID": settings.xero_client_id,
        "XERO_CLIENT_SECRET": settings.xero_client_secret,
        "XERO_REDIRECT_URL": settings.xero_redirect_url,
        "XERO_LOGIN_URL": settings.xero_login_url,
        "XERO_IDENTITY_URL": settings.xero_identity_url,
        "XERO_API_URL": settings.xero_api_url,
        "FORWARDING_WORKERS": "1",
        "FORWARD_BATCH_SIZE": "10",
        "FORWARD_CLAIM_SECONDS": "2",
        "FORWARD_RETRY_SECONDS": "0.1",
        "FORWARD_POLL_SECONDS": "0.05",
        "LOG_LEVEL": "ERROR",
    }
    return {**os.environ, **{f"LEDGERSYNC_{name}": value for name, value in values.items()}}


def start_worker(environment: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "server", "forward"], cwd=ROOT, env=environment, stderr=subprocess.DEVNULL
    )


async def test_two_hundred_uploads_reach_xero_exactly_once_through_kills_and_dropped_connections(
    forwarding: Forwarding, new_phone: NewPhone, settings: Settings
) -> None:
    phone = await new_phone(batch_size=200)
    await phone.refresh()
    customers = [phone.create_customer(f"Crash Test Customer {n:02d}") for n in range(40)]
    invoices = [
        phone.create_invoice(
            customers[n % 40], [Line("1", f"{20 + n}.00", tax_type="OUTPUT2", account_code=SALES)]
        )
        for n in range(160)
    ]
    handle = forwarding.sandbox.handle
    drops = [
        handle.add_fault(FaultSpec(kind="drop", route="PUT /api.xro/2.0/Contacts*", count=2)),
        handle.add_fault(FaultSpec(kind="drop", route="PUT /api.xro/2.0/Invoices*", count=4)),
    ]
    handle.add_fault(FaultSpec(kind="latency", route="PUT /api.xro/2.0/*", seconds=0.3))
    assert {r.status for r in await phone.upload()} == {"applied"}

    environment = worker_environment(settings)
    several = settings.database_url.startswith("postgresql")  # SQLite runs one worker at a time
    rng = random.Random(20261120)
    for _ in range(6):
        workers = [start_worker(environment) for _ in range(2 if several else 1)]
        await asyncio.sleep(rng.uniform(1.5, 3.5))
        for worker in workers:
            worker.kill()
            worker.wait()
    survivors = [start_worker(environment) for _ in range(2 if several else 1)]
    try:
        counts = await settle(forwarding.admin, within=180)
    finally:
        for worker in survivors:
            worker.terminate()
            worker.wait()

    assert counts["done"] == 200
    assert all(drop.exhausted for drop in drops)
    contact_numbers = Counter(c.get("ContactNumber") for c in forwarding.xero_org.contacts.values())
    assert all(contact_numbers[customer] == 1 for customer in customers)
    urls = Counter(str(i.get("Url", "")).rsplit("/", 1)[-1] for i in forwarding.xero_org.invoices.values())
    assert all(urls[invoice] == 1 for invoice in invoices)
    assert len(forwarding.xero_org.invoices) == 160


async def test_invoices_pushed_with_send_to_customer_are_emailed_once_each_through_kills_and_drops(
    forwarding: Forwarding, new_phone: NewPhone, settings: Settings
) -> None:
    await forwarding.set(email_invoices=True)
    phone = await new_phone(batch_size=100)
    await phone.refresh()
    customers = [phone.create_customer(f"Email Customer {n}", email=f"c{n}@crash.example") for n in range(4)]
    invoices = [
        phone.create_invoice(
            customers[n % 4], [Line("1", f"{30 + n}.00", tax_type="OUTPUT2", account_code=SALES)]
        )
        for n in range(12)
    ]
    for invoice in invoices:
        phone.email_invoice(invoice)
    handle = forwarding.sandbox.handle
    # Xero sends the email and the answer is lost, or the worker dies while Xero is sending it.
    drop = handle.add_fault(FaultSpec(kind="drop", route="POST /api.xro/2.0/Invoices/*/Email", count=3))
    handle.add_fault(FaultSpec(kind="latency", route="POST /api.xro/2.0/Invoices/*/Email", seconds=0.4))
    assert {r.status for r in await phone.upload()} == {"applied"}

    environment = worker_environment(settings)
    rng = random.Random(20261203)
    for _ in range(5):
        worker = start_worker(environment)
        await asyncio.sleep(rng.uniform(1.0, 2.5))
        worker.kill()
        worker.wait()
    survivor = start_worker(environment)
    try:
        counts = await settle(forwarding.admin, within=180)
    finally:
        survivor.terminate()
        survivor.wait()

    assert counts["done"] == 4 + 12 + 12, counts
    assert drop.exhausted
    xero_ids = {str(i["InvoiceID"]) for i in forwarding.xero_org.invoices.values()}
    emailed = Counter(str(e["InvoiceID"]) for e in forwarding.xero_org.emails)
    assert len(xero_ids) == 12
    assert {xero_id: emailed[xero_id] for xero_id in xero_ids} == dict.fromkeys(xero_ids, 1)


EMAIL_CALL = "POST /api.xro/2.0/Invoices/{invoice_id:str}/Email"  # the sandbox's call count key


async def test_a_worker_killed_after_xero_took_the_email_request_leaves_one_email_and_the_url_on_the_phone(
    forwarding: Forwarding, new_phone: NewPhone, settings: Settings
) -> None:
    await forwarding.set(email_invoices=True)
    phone = await new_phone()
    await phone.refresh()
    customer = phone.create_customer("Killed After Email Ltd", email="killed@crash.example")
    invoice = phone.create_invoice(customer, [Line("1", "80.00", tax_type="OUTPUT2", account_code=SALES)])
    phone.email_invoice(invoice)
    handle = forwarding.sandbox.handle
    # Xero sends the email and the connection drops before its answer; the worker dies at that moment.
    drop = handle.add_fault(FaultSpec(kind="drop", route="POST /api.xro/2.0/Invoices/*/Email", count=1))
    assert {r.status for r in await phone.upload()} == {"applied"}
    environment = worker_environment(settings)

    worker = start_worker(environment)
    try:
        deadline = asyncio.get_running_loop().time() + 120
        while not drop.exhausted:
            assert asyncio.get_running_loop().time() < deadline, "the email request never reached Xero"
            await asyncio.sleep(0.005)
    finally:
        worker.kill()
        worker.wait()
    assert len(forwarding.xero_org.emails) == 1  # Xero sent it; nobody heard so
    survivor = start_worker(environment)
    try:
        counts = await settle(forwarding.admin, within=120)
    finally:
        survivor.terminate()
        survivor.wait()
    await phone.refresh()

    assert counts["done"] == 3, counts
    [xero_invoice] = forwarding.xero_invoices_for(invoice)
    assert [e["InvoiceID"] for e in forwarding.xero_org.emails] == [xero_invoice["InvoiceID"]]
    assert handle.state.calls[EMAIL_CALL] == 1  # found sent, not asked again
    on_phone = msgspec.json.decode(phone.store.record("invoice", invoice) or b"", type=Invoice)
    assert on_phone.emailed is True
    assert on_phone.online_invoice_url == online_invoice_url(xero_invoice)
