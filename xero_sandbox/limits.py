"""Xero's rate limits: concurrent, per minute and per day per tenant, and an app-wide minute limit.

Windows are rolling, measured on the sandbox clock (so ``time_scale`` shortens them). Every admitted
call is kept in ``call_log`` with its start and end on that clock, so a test can check from outside
that no tenant ever had more than 5 in flight or 60 in a minute (``GET /_sandbox/call-log``).
Retry-After is given in *real* seconds (sandbox wait / time_scale, rounded up, at least 1), so a
client that honours it waits the right amount of wall-clock time.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, replace

from .clock import Clock
from .config import Limits
from .errors import RateLimited

MINUTE = 60.0
DAY = 86400.0


@dataclass
class LoggedCall:
    """One admitted call, on the sandbox clock; ``ended`` None while it is in flight."""

    tenant_id: str
    started: float
    ended: float | None = None


@dataclass(frozen=True)
class Remaining:
    minute: int
    day: int
    app_minute: int
    call: int = -1  # the admitted call's index in ``RateLimiter.call_log`` (-1: none)

    def headers(self) -> dict[str, str]:
        return {
            "X-MinLimit-Remaining": str(self.minute),
            "X-DayLimit-Remaining": str(self.day),
            "X-AppMinLimit-Remaining": str(self.app_minute),
        }


class RateLimiter:
    def __init__(self, limits: Limits, clock: Clock) -> None:
        self.limits = limits
        self.clock = clock
        self._minute: dict[str, deque[float]] = defaultdict(deque)
        self._day: dict[str, deque[float]] = defaultdict(deque)
        self._app: deque[float] = deque()
        self._in_flight: dict[str, int] = defaultdict(int)
        # What a test or the control API can read: 429s given, by problem, and the peak concurrency.
        self.rejected: Counter[str] = Counter()
        self.max_in_flight: dict[str, int] = defaultdict(int)
        self.call_log: list[LoggedCall] = []

    def reset(self) -> None:
        self.call_log.clear()
        self._minute.clear()
        self._day.clear()
        self._app.clear()
        self._in_flight.clear()
        self.rejected.clear()
        self.max_in_flight.clear()

    def remaining(self, tenant_id: str) -> Remaining:
        now = self.clock.seconds()
        return Remaining(
            minute=max(0, self.limits.per_minute - len(_trim(self._minute[tenant_id], now - MINUTE))),
            day=max(0, self.limits.per_day - len(_trim(self._day[tenant_id], now - DAY))),
            app_minute=max(0, self.limits.app_per_minute - len(_trim(self._app, now - MINUTE))),
        )

    def acquire(self, tenant_id: str) -> Remaining:
        """Count one call or raise RateLimited; the caller must ``release`` when the call ends."""
        try:
            return self._acquire(tenant_id)
        except RateLimited as limited:
            self.rejected[limited.problem] += 1
            raise

    def _acquire(self, tenant_id: str) -> Remaining:
        now = self.clock.seconds()
        minute = _trim(self._minute[tenant_id], now - MINUTE)
        day = _trim(self._day[tenant_id], now - DAY)
        app = _trim(self._app, now - MINUTE)
        if self._in_flight[tenant_id] >= self.limits.concurrent:
            raise RateLimited("concurrent", 1)
        if len(day) >= self.limits.per_day:
            raise RateLimited("day", self._real_wait(day[0] + DAY - now))
        if len(app) >= self.limits.app_per_minute:
            raise RateLimited("appminute", self._real_wait(app[0] + MINUTE - now))
        if len(minute) >= self.limits.per_minute:
            raise RateLimited("minute", self._real_wait(minute[0] + MINUTE - now))
        minute.append(now)
        day.append(now)
        app.append(now)
        self._in_flight[tenant_id] += 1
        self.max_in_flight[tenant_id] = max(self.max_in_flight[tenant_id], self._in_flight[tenant_id])
        self.call_log.append(LoggedCall(tenant_id, now))
        return replace(self.remaining(tenant_id), call=len(self.call_log) - 1)

    def release(self, tenant_id: str, call: int = -1) -> None:
        self._in_flight[tenant_id] = max(0, self._in_flight[tenant_id] - 1)
        if 0 <= call < len(self.call_log):
            self.call_log[call].ended = self.clock.seconds()

    def _real_wait(self, sandbox_seconds: float) -> int:
        return max(1, math.ceil(self.clock.real_seconds(max(0.0, sandbox_seconds))))


def _trim(window: deque[float], since: float) -> deque[float]:
    while window and window[0] <= since:
        window.popleft()
    return window
