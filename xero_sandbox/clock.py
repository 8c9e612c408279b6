"""Sandbox time: real time sped up by ``time_scale``, plus an offset tests can advance."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Monotonic, scalable clock. ``now()`` is a UTC datetime in sandbox time.

    Everything time-dependent (token expiry, rate windows, idempotency windows, UpdatedDateUTC)
    reads this one clock so that ``advance()`` moves all of them together.
    """

    def __init__(self, time_scale: float = 1.0, start: datetime | None = None) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._start_wall = start or datetime.now(UTC)
        self._start_mono = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def seconds(self) -> float:
        """Sandbox seconds elapsed since the clock started."""
        with self._lock:
            return (time.monotonic() - self._start_mono) * self.time_scale + self._offset

    def now(self) -> datetime:
        return self._start_wall + timedelta(seconds=self.seconds())

    def at(self, sandbox_seconds: float) -> datetime:
        """The UTC moment of a point on this clock's seconds() scale."""
        return self._start_wall + timedelta(seconds=sandbox_seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def real_seconds(self, sandbox_seconds: float) -> float:
        """How long a sandbox duration lasts in real time (for sleeps)."""
        return sandbox_seconds / self.time_scale
