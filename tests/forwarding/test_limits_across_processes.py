"""Three server processes and two forwarding processes share one organisation's Xero limits.

The sandbox holds Xero's real limits (5 calls in flight, 60 a minute, per tenant) on a time-scaled
clock (a Xero minute in three real seconds), and so does every ledgersync process (``xero_minute_seconds``).
Each process alone would happily send 60 a minute; only the limits they share through PostgreSQL keep
the five of them together under Xero's - checked from the sandbox's own log of every call, while
processes are SIGKILLed and started again at random.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from reference_client.phone import Line
from server.settings import Settings
from tests.fixtures.devices import NewPhone
from tests.fixtures.processes import Fleet, process_environment
from tests.fixtures.sandbox import RunningSandbox, sandbox_config, start_sandbox
from tests.fixtures.xero_spec import XeroSpec
from tests.forwarding.conftest import SALES, Forwarding, settle
from xero_sandbox import Limits
from xero_sandbox.faults import FaultSpec
from xero_sandbox.limits import LoggedCall

XERO_MINUTE = 60.0  # sandbox seconds
SCALE = 20.0  # the sandbox's time scale: its minute lasts three real seconds


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url  # several processes: PostgreSQL only


@pytest.fixture
def xero_sandbox(xero_spec: XeroSpec) -> Iterator[RunningSandbox]:
    with ExitStack() as stack:
        yield start_sandbox(
            stack, sandbox_config(auto_consent=True, limits=Limits(), time_scale=SCALE), xero_spec
        )


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The test's own server only connects and mirrors once; the processes below do the rest.
    return settings.replace(forwarding_workers=0, xero_minute_seconds=XERO_MINUTE / SCALE)


def peaks(calls: list[LoggedCall], now: float) -> tuple[int, int]:
    """The most calls ever in flight at once, and the most started in any one Xero minute."""
    events = sorted(
        [(c.started, 1) for c in calls] + [(c.ended if c.ended is not None else now, -1) for c in calls]
    )
    in_flight = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):  # an end before a start at one instant
        in_flight += step
        peak = max(peak, in_flight)
    starts = sorted(c.started for c in calls)
    in_minute = 0
    first = 0
    for last, started in enumerate(starts):
        while starts[first] <= started - XERO_MINUTE:
            first += 1
        in_minute = max(in_minute, last - first + 1)
    return peak, in_minute


async def test_killed_processes_keep_an_organisation_within_xeros_limits_and_forward_each_upload_once(
    forwarding: Forwarding, new_phone: NewPhone, settings: Settings, xero_sandbox: RunningSandbox
) -> None:
    phone = await new_phone(batch_size=200)
    await phone.refresh()
    customers = [phone.create_customer(f"Fleet Customer {n:02d}") for n in range(12)]
    invoices = [
        phone.create_invoice(
            customers[n % 12], [Line("1", f"{10 + n}.00", tax_type="OUTPUT2", account_code=SALES)]
        )
        for n in range(88)
    ]
    handle = xero_sandbox.handle
    # Long enough that the tenant's 5 slots are the bound at times, short enough that its minute is too.
    handle.add_fault(FaultSpec(kind="latency", route="PUT /api.xro/2.0/*", seconds=0.2))
    assert {r.status for r in await phone.upload()} == {"applied"}
    handle.limiter.reset()  # from here on: only the processes' calls

    environment = process_environment(
        settings,
        XERO_MINUTE_SECONDS=str(XERO_MINUTE / SCALE),
        XERO_CALL_LEASE_SECONDS="3",  # a killed process's slots lapse after this
        FORWARD_BATCH_SIZE="1",  # one call per upload: many calls
        FORWARD_CLAIM_SECONDS="3",
        FORWARD_RETRY_SECONDS="0.1",
        FORWARD_POLL_SECONDS="0.05",
        FORWARDING_WORKERS="2",
        SYNC_INTERVAL_MINUTES="1",
        SYNC_LEASE_SECONDS="5",
        PULL_POLL_SECONDS="0.2",
    )
    fleet = Fleet(environment)
    rng = random.Random(20261204)
    try:
        for _ in range(3):
            fleet.start_server()
        for _ in range(2):
            fleet.start_forwarder()
        for _ in range(6):
            await asyncio.sleep(rng.uniform(0.8, 2.0))
            fleet.kill(rng.choice(fleet.processes))
        counts = await settle(forwarding.admin, within=180)
    finally:
        fleet.stop()

    tenant_calls = [c for c in handle.limiter.call_log if c.tenant_id == forwarding.xero_org.tenant_id]
    most_in_flight, most_in_a_minute = peaks(tenant_calls, handle.clock.seconds())
    assert dict(handle.limiter.rejected) == {}  # no 429, of any kind
    assert most_in_flight <= 5
    assert most_in_a_minute <= 60
    assert len(tenant_calls) >= 100  # the processes did the work (one call per upload at least)
    assert counts["done"] == 100, counts
    contact_numbers = Counter(c.get("ContactNumber") for c in forwarding.xero_org.contacts.values())
    assert all(contact_numbers[customer] == 1 for customer in customers)
    urls = Counter(str(i.get("Url", "")).rsplit("/", 1)[-1] for i in forwarding.xero_org.invoices.values())
    assert {invoice: urls[invoice] for invoice in invoices if urls[invoice] != 1} == {}
    assert len(forwarding.xero_org.invoices) == 88
