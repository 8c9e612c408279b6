"""The per-tenant limiter against the sandbox's own limits, time-scaled (a Xero minute = 0.5 s)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from server.xero import wire
from server.xero.client import AccessToken, XeroClient
from server.xero.errors import RateLimited
from server.xero.rate_limit import Limiters, LimitPolicy, TenantLimiter
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import FAST_RETRY
from xero_sandbox import Limits

SCALE = 120.0  # sandbox seconds per real second
MINUTE = 60.0 / SCALE


class FixedToken:
    def __init__(self, value: str) -> None:
        self.token = AccessToken(value, 1)

    async def current(self) -> AccessToken:
        return self.token

    async def refreshed(self, stale: AccessToken) -> AccessToken:
        return self.token

    async def lost(self, reason: str) -> None:
        raise AssertionError(reason)


def client_for(sandbox: RunningSandbox, limiter: TenantLimiter, seen: list[int]) -> tuple[XeroClient, Any]:
    org = sandbox.organisation(contacts=1, items=1)
    token = sandbox.authorize([org.tenant_id])["access_token"]

    async def record(response: httpx.Response) -> None:
        seen.append(response.status_code)

    http = httpx.AsyncClient(event_hooks={"response": [record]})
    return XeroClient(http, sandbox.base_url, org.tenant_id, FixedToken(token), limiter, FAST_RETRY), http


async def test_limiter_keeps_a_burst_inside_xeros_minute_and_concurrency_limits(make_sandbox: Any) -> None:
    sandbox = make_sandbox(
        time_scale=SCALE, limits=Limits(concurrent=5, per_minute=20, per_day=100_000, app_per_minute=100_000)
    )
    limiter = TenantLimiter(LimitPolicy(concurrent=5, per_minute=19, minute=MINUTE))
    seen: list[int] = []
    client, http = client_for(sandbox, limiter, seen)
    try:
        await asyncio.gather(*(client.get("/Organisation", wire.Organisations) for _ in range(50)))
    finally:
        await http.aclose()

    assert seen.count(200) == 50
    assert 429 not in seen
    assert limiter.max_in_flight <= 5


async def test_a_429_pauses_the_tenant_for_retry_after_and_the_call_then_succeeds(make_sandbox: Any) -> None:
    sandbox = make_sandbox(
        time_scale=SCALE, limits=Limits(concurrent=5, per_minute=3, per_day=100_000, app_per_minute=100_000)
    )
    limiter = TenantLimiter(LimitPolicy(per_minute=1000, minute=MINUTE))  # too lax on purpose
    seen: list[int] = []
    client, http = client_for(sandbox, limiter, seen)
    try:
        results = [await client.get("/Organisation", wire.Organisations) for _ in range(5)]
    finally:
        await http.aclose()

    assert len(results) == 5
    assert 429 in seen
    assert seen.count(200) == 5


async def test_spent_daily_budget_refuses_without_calling_xero(make_sandbox: Any) -> None:
    sandbox = make_sandbox(
        time_scale=SCALE, limits=Limits(concurrent=5, per_minute=1000, per_day=3, app_per_minute=100_000)
    )
    limiter = TenantLimiter(LimitPolicy(minute=MINUTE))
    seen: list[int] = []
    client, http = client_for(sandbox, limiter, seen)
    try:
        for _ in range(3):
            await client.get("/Organisation", wire.Organisations)
        with pytest.raises(RateLimited):
            await client.get("/Organisation", wire.Organisations)
    finally:
        await http.aclose()

    assert limiter.day_remaining == 0
    assert seen == [200, 200, 200]


async def test_the_daily_reserve_is_left_to_forwarding_clients(make_sandbox: Any) -> None:
    sandbox = make_sandbox(
        time_scale=SCALE, limits=Limits(concurrent=5, per_minute=1000, per_day=5, app_per_minute=100_000)
    )
    limiter = TenantLimiter(LimitPolicy(minute=MINUTE, daily_reserve=2))
    seen: list[int] = []
    mirror, http = client_for(sandbox, limiter, seen)
    forwarding = XeroClient(
        http, sandbox.base_url, mirror.tenant_id, mirror._tokens, limiter, FAST_RETRY, use_reserve=True
    )
    try:
        for _ in range(3):
            await mirror.get("/Organisation", wire.Organisations)
        with pytest.raises(RateLimited):
            await mirror.get("/Organisation", wire.Organisations)  # only the reserve is left
        for _ in range(2):
            await forwarding.get("/Organisation", wire.Organisations)
    finally:
        await http.aclose()

    assert seen == [200] * 5
    assert limiter.day_remaining == 0


async def test_the_in_memory_limiter_keeps_every_tenant_together_inside_the_app_wide_minute() -> None:
    limiters = Limiters(LimitPolicy(per_minute=100, minute=0.5, app_per_minute=3))
    loop = asyncio.get_running_loop()
    began = loop.time()
    for tenant in ("a", "b", "c"):
        async with limiters.for_tenant(tenant).slot():
            pass
    quick = loop.time() - began
    async with limiters.for_tenant("d").slot():  # a fourth tenant's call waits for the app's minute
        waited = loop.time() - began

    assert quick < 0.3
    assert waited >= 0.45
