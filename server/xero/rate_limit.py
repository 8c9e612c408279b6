"""Staying inside Xero's limits, per tenant: at most 5 calls in flight, under 60 a minute, a daily budget.

Xero counts per tenant (5 concurrent, 60/minute, 5000/day) and answers 429 with ``Retry-After``
beyond that. We would rather never get the 429: a call waits here for a slot and for room in the
rolling minute; a 429 that still comes (another process, another app) pauses the tenant for the
time Xero asks. The daily budget is Xero's own count, read from ``X-DayLimit-Remaining``; when it is
spent we refuse at once instead of sleeping for hours.

``minute`` and the clock are parameters so tests can run the same logic against a time-scaled
sandbox (one Xero minute per real second).

Several processes share a tenant's limits through a ``SharedLimits`` store (ledgersync's is
PostgreSQL, ``server/xero_link/shared_limits.py``): the store admits each call (a slot with an expiry,
the rolling minute, the daily budget, a 429's pause, the app-wide minute) and records its end. This
module only knows the protocol, so the Xero client stays free of ledgersync's storage. Without a
store (SQLite, one process) the counting is in memory, as below.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

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
    # Xero's app-wide limit is 10,000 calls a minute across every tenant; the margin is ours.
    app_per_minute: int = 9_900


@dataclass(frozen=True)
class Admitted:
    """A shared store let one call go: ``ticket`` names it when it ends."""

    ticket: int


@dataclass(frozen=True)
class Refused:
    """A shared store said not yet: try again after ``wait`` seconds (``spent``: the daily budget is)."""

    wait: float
    spent: bool = False


class SharedLimits(Protocol):
    """Where every process's calls of a tenant are counted (see the module's docstring)."""

    async def admit(self, tenant_id: str, policy: LimitPolicy, reserve: int) -> Admitted | Refused:
        """Take a slot for one call now, or say how long to wait."""
        ...

    async def finish(
        self, tenant_id: str, ticket: int, day_remaining: int | None, pause_seconds: float
    ) -> None:
        """The call ended: it counts in the rolling minute from now; Xero's daily count and a
        429's pause (0: none) are stored for every process."""
        ...


class AppWindow:
    """The app-wide minute in one process: completion times of every tenant's calls."""

    def __init__(self) -> None:
        self.done: deque[float] = deque()


class TenantLimiter:
    def __init__(
        self,
        policy: LimitPolicy = LimitPolicy(),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        *,
        tenant_id: str = "",
        shared: SharedLimits | None = None,
        app: AppWindow | None = None,
    ) -> None:
        self.policy = policy
        self.tenant_id = tenant_id
        self._shared = shared
        self._app = app
        self._clock = clock
        self._sleep = sleep
        self._slots = asyncio.Semaphore(policy.concurrent)
        self._turn = asyncio.Lock()
        self._done: deque[float] = deque()  # completion times of calls within the last minute
        self._paused_until = 0.0
        self.day_remaining: int | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self._pause_to_share = 0.0
        self._day_to_share: int | None = None  # Xero's daily count as answered in the current slot

    @asynccontextmanager
    async def slot(self, use_reserve: bool = False) -> AsyncIterator[None]:
        """Hold this while one request is on the wire. ``use_reserve``: may spend the daily reserve.

        What Xero answered (``observe``, ``pause``) should be told inside the slot: with a shared
        store it is stored when the slot ends, in the same round trip that ends the call.
        """
        if self._shared is not None:
            async with self._slots, self._shared_slot(0 if use_reserve else self.policy.daily_reserve):
                yield
            return
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
                if self._app is not None:
                    self._app.done.append(self._clock())

    @asynccontextmanager
    async def _shared_slot(self, reserve: int) -> AsyncIterator[None]:
        assert self._shared is not None
        shared = self._shared
        async with self._turn:  # this process's waiters ask the store one at a time, in order
            while True:
                answer = await shared.admit(self.tenant_id, self.policy, reserve)
                if isinstance(answer, Admitted):
                    break
                if answer.spent:
                    raise RateLimited(
                        "Xero's daily call budget for this organisation is spent", retry_after=3600
                    )
                await self._sleep(answer.wait)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self._pause_to_share, self._day_to_share = 0.0, None
        try:
            yield
        finally:
            self.in_flight -= 1
            pause, self._pause_to_share = self._pause_to_share, 0.0
            # Only what this call's answer said: an older count would overwrite another process's newer one.
            day, self._day_to_share = self._day_to_share, None
            # Shielded: a cancelled caller must still hand its slot back (else it lapses only at expiry).
            await asyncio.shield(shared.finish(self.tenant_id, answer.ticket, day, pause))

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
                if self._app is not None:
                    app = self._app.done
                    while app and app[0] <= now - self.policy.minute:
                        app.popleft()
                    if len(app) >= self.policy.app_per_minute:
                        wait = max(wait, app[0] + self.policy.minute - now, 0.001)
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
            self.day_remaining = self._day_to_share = int(day)

    def pause(self, seconds: float) -> None:
        """A 429 said wait: no call for this tenant leaves before then."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._pause_to_share = max(self._pause_to_share, seconds)


class Limiters:
    """One limiter per tenant, for the whole process (pulls and forwarding share it).

    ``shared``: the store every process counts in (None: this process is the only one).
    """

    def __init__(self, policy: LimitPolicy = LimitPolicy(), shared: SharedLimits | None = None) -> None:
        self.policy = policy
        self.shared = shared
        self._app = AppWindow()
        self._by_tenant: dict[str, TenantLimiter] = {}

    def for_tenant(self, tenant_id: str) -> TenantLimiter:
        key = tenant_id.lower()
        limiter = self._by_tenant.get(key)
        if limiter is None:
            limiter = self._by_tenant[key] = TenantLimiter(
                self.policy, tenant_id=key, shared=self.shared, app=self._app
            )
        return limiter
