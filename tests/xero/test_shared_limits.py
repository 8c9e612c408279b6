"""A tenant's limits shared through PostgreSQL: limiters of separate "processes" (each its own
database pool and its own limiter, as two processes have) together stay inside Xero's limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from server.db.database import Database
from server.xero import wire
from server.xero.client import XeroClient
from server.xero.rate_limit import Admitted, Limiters, LimitPolicy
from server.xero_link.shared_limits import PostgresLimits
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import FAST_RETRY
from tests.xero.test_rate_limit import FixedToken
from xero_sandbox import Limits

SCALE = 60.0  # a Xero minute per real second
POLICY = LimitPolicy(concurrent=5, per_minute=19, minute=60.0 / SCALE)


@pytest.fixture
async def processes(postgres_url: str) -> AsyncIterator[list[Database]]:
    """Three database handles on one PostgreSQL database: three processes' pools."""
    handles = [Database(postgres_url) for _ in range(3)]
    yield handles
    for handle in handles:
        await handle.close()


def sandbox_with_real_concurrency(make_sandbox: Any) -> RunningSandbox:
    sandbox: RunningSandbox = make_sandbox(
        time_scale=SCALE, limits=Limits(concurrent=5, per_minute=20, per_day=100_000, app_per_minute=100_000)
    )
    return sandbox


async def test_three_processes_limiters_together_keep_a_tenant_inside_its_minute_and_concurrency(
    make_sandbox: Any, processes: list[Database]
) -> None:
    sandbox = sandbox_with_real_concurrency(make_sandbox)
    org = sandbox.organisation(contacts=1, items=1)
    token = FixedToken(sandbox.authorize([org.tenant_id])["access_token"])
    seen: list[int] = []

    async def record(response: httpx.Response) -> None:
        seen.append(response.status_code)

    http = httpx.AsyncClient(event_hooks={"response": [record]})
    clients = [
        XeroClient(
            http,
            sandbox.base_url,
            org.tenant_id,
            token,
            Limiters(POLICY, PostgresLimits(database)).for_tenant(org.tenant_id),
            FAST_RETRY,
        )
        for database in processes
    ]
    try:
        # Each limiter alone would let 19 a minute and 5 at once go: 60 calls, 20 from each.
        await asyncio.gather(
            *(client.get("/Organisation", wire.Organisations) for client in clients for _ in range(20))
        )
    finally:
        await http.aclose()

    assert seen.count(200) == 60
    assert seen.count(429) == 0
    assert sandbox.handle.limiter.max_in_flight[org.tenant_id] <= 5


async def test_a_429_seen_by_one_process_pauses_the_tenant_for_the_others(processes: list[Database]) -> None:
    first, second = (
        Limiters(POLICY, PostgresLimits(database)).for_tenant("tenant-a") for database in processes[:2]
    )
    async with first.slot():
        first.pause(0.5)  # as the client does when Xero answers 429 with Retry-After
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with second.slot():
        waited = loop.time() - began
    other_tenant = Limiters(POLICY, PostgresLimits(processes[2])).for_tenant("tenant-b")
    began = loop.time()
    async with other_tenant.slot():
        other_waited = loop.time() - began

    assert waited >= 0.4
    assert other_waited < 0.4  # a pause is the tenant's, not everyone's


async def test_the_slots_of_a_process_that_died_mid_call_lapse_and_others_go_on(
    processes: list[Database],
) -> None:
    dying = PostgresLimits(processes[0], lease_seconds=0.5)
    for _ in range(5):  # five calls admitted, never finished: the process was SIGKILLed
        admitted = await dying.admit("tenant-c", POLICY, 0)
        assert isinstance(admitted, Admitted)
    survivor = Limiters(POLICY, PostgresLimits(processes[1])).for_tenant("tenant-c")
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with survivor.slot():
        waited = loop.time() - began

    assert 0.3 <= waited < 5
