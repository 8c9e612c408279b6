"""Staying inside Xero's limits, per tenant: at most 5 calls in flight, under 60 a minute, a daily budget.

Xero counts per tenant (5 concurrent, 60/minute, 5000/day) and answers 429 with ``Retry-After``
beyond that. We would rather never get the 429: a call waits here for a slot and for room in the
rolling minute; a 429 that still comes (another process, another app) pauses the tenant for the
time Xero asks. The daily budget is Xero's own count, read from ``X-DayLimit-Remaining``; when it is
spent we refuse at once instead of sleeping for hours.

``minute`` and the clock are parameters so tests can run the same logic against a time-scaled
sandbox (one Xero minute per real second).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from server.xero.errors import RateLimited


@dataclass(frozen=True)
class LimitPolicy:
    concurrent: int = 5
    # One below Xero's 60: our clock and Xero's do not start their minutes at the same instant.
    per_minute: int = 59
    minute: float = 60.0
    # Calls of the daily budget only forwarding may use: mirror pulls stop short of it, so what
    # phones upload still reaches Xero on a day the mirror was busy.
    daily_reserve: int = 0


class TenantLimiter:
    def __init__(
        self,
        policy: LimitPolicy = LimitPolicy(),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._sleep = sleep
        self._slots = asyncio.Semaphore(policy.concurrent)
        self._turn = asyncio.Lock()
        self._done: deque[float] = deque()  # completion times of calls within the last minute
        self._paused_until = 0.0
        self.day_remaining: int | None = None
        self.in_flight = 0
        self.max_in_flight = 0

    @asynccontextmanager
    async def slot(self, use_reserve: bool = False) -> AsyncIterator[None]:
        """Hold this while one request is on the wire. ``use_reserve``: may spend the daily reserve."""
        async with self._slots:
            await self._wait_turn(0 if use_reserve else self.policy.daily_reserve)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                yield
            finally:
                self.in_flight -= 1
                # A call enters the rolling window when it completes, not when it left: Xero stamps
                # it somewhere in between, so counting from the end never frees a slot too early.
                self._done.append(self._clock())

    async def _wait_turn(self, reserve: int) -> None:
        # One waiter at a time decides; the others queue behind it in arrival order.
        async with self._turn:
            while True:
                if self.day_remaining is not None and self.day_remaining <= reserve:
                    raise RateLimited(
                        "Xero's daily call budget for this organisation is spent", retry_after=3600
                    )
                now = self._clock()
                while self._done and self._done[0] <= now - self.policy.minute:
                    self._done.popleft()
                wait = self._paused_until - now
                if len(self._done) + self.in_flight >= self.policy.per_minute:
                    # Full: room comes when the oldest completed call leaves the window (or, if
                    # every counted call is still in flight, soon after one completes).
                    oldest = self._done[0] + self.policy.minute - now if self._done else 0.01
                    wait = max(wait, oldest, 0.001)
                if wait <= 0:
                    if self.day_remaining is not None:
                        self.day_remaining -= 1  # corrected by the answer's header
                    return
                await self._sleep(wait)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take Xero's own counts from a response."""
        day = headers.get("x-daylimit-remaining")
        if day is not None and day.isdigit():
            self.day_remaining = int(day)

    def pause(self, seconds: float) -> None:
        """A 429 said wait: no call for this tenant leaves before then."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)


class Limiters:
    """One limiter per tenant, for the whole process (pulls and forwarding share it)."""

    def __init__(self, policy: LimitPolicy = LimitPolicy()) -> None:
        self.policy = policy
        self._by_tenant: dict[str, TenantLimiter] = {}

    def for_tenant(self, tenant_id: str) -> TenantLimiter:
        key = tenant_id.lower()
        limiter = self._by_tenant.get(key)
        if limiter is None:
            limiter = self._by_tenant[key] = TenantLimiter(self.policy)
        return limiter
