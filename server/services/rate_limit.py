"""A per-key token bucket, in memory: enough for one server process.

Several server processes would each allow the full rate; a shared store is for when the
deployment has more than one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from server.core.errors import RateLimited


class RateLimiter:
    def __init__(
        self, per_minute: int, burst: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst if burst is not None else max(1, per_minute // 4))
        self._clock = clock
        self._buckets: dict[object, tuple[float, float]] = {}

    def check(self, key: object, message: str = "too many requests from this device") -> None:
        """Takes one token for ``key`` or raises ``RateLimited`` saying when one is back."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            raise RateLimited(message, retry_after=(1 - tokens) / self._rate)
        self._buckets[key] = (tokens - 1, now)

    def refund(self, key: object) -> None:
        """Gives back the token ``check`` took: the request turned out not to count."""
        tokens, last = self._buckets.get(key, (self._burst, self._clock()))
        self._buckets[key] = (min(self._burst, tokens + 1), last)
