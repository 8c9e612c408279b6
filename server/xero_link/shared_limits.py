"""Xero's per-tenant limits held for the whole deployment in PostgreSQL (``SharedLimits``).

Every process's limiter asks here before a call (``admit``) and tells here after it (``finish``), so
three server processes and two forwarding processes together keep a tenant under 5 calls in flight
and 60 a minute, as one process did alone.

Admitting is one transaction: lock the tenant's ``xero_tenant_limits`` row (``FOR UPDATE``: admissions
of one tenant queue on it, other tenants' do not), count its calls in flight and in the rolling
minute from ``xero_call_slots``, and insert the new call's slot with a lease. The database's clock
(``clock_timestamp()``) is the only clock, so hosts whose clocks differ still agree. A slot is in
flight until it is finished or its lease ends (a SIGKILLed process's slots lapse by themselves); a
call counts in the minute until a minute after it ended - from its end, as the in-memory limiter
counts. A 429's ``Retry-After`` and Xero's ``X-DayLimit-Remaining`` are written as the call ends, in
the same round trip. The app-wide minute (10,000 calls across every tenant) is counted over all
slots, but only when this process last saw it at least half used: below that, a count a moment old
cannot be wrong by enough to matter.

Cost per call: two short transactions (about a millisecond each on loopback) against Xero's latency of
a few hundred. Slots older than a few minutes are deleted by whichever process notices first.
"""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from server.db.database import Database
from server.xero.rate_limit import Admitted, LimitPolicy, Refused

# How long an admitted call holds its slot if its process never says it ended: longer than any call
# lasts (the client's timeouts: 10 s to connect, 30 s to read).
DEFAULT_LEASE_SECONDS = 60.0
# While a tenant's five slots are all taken, a waiter asks again this often (a fraction of a minute).
POLL_FRACTION = 1 / 600

_ENSURE = text("INSERT INTO xero_tenant_limits (tenant_id) VALUES (:tenant) ON CONFLICT DO NOTHING")
_LOCK = text("""
    SELECT paused_until, day_remaining, clock_timestamp() AS now
    FROM xero_tenant_limits WHERE tenant_id = :tenant FOR UPDATE
""")
_COUNT = text("""
    SELECT count(*) FILTER (WHERE NOT finished AND ends_at > CAST(:now AS timestamptz)) AS in_flight,
           count(*) AS in_minute,
           min(ends_at) FILTER (WHERE finished) AS oldest_done
    FROM xero_call_slots
    WHERE tenant_id = :tenant
      AND ends_at > CAST(:now AS timestamptz) - make_interval(secs => CAST(:minute AS double precision))
""")
_COUNT_APP = text("""
    SELECT count(*), min(ends_at) FROM xero_call_slots
    WHERE ends_at > CAST(:now AS timestamptz) - make_interval(secs => CAST(:minute AS double precision))
""")
_ADMIT = text("""
    WITH slot AS (
        INSERT INTO xero_call_slots (tenant_id, started_at, ends_at, finished)
        VALUES (:tenant, CAST(:now AS timestamptz),
                CAST(:now AS timestamptz) + make_interval(secs => CAST(:lease AS double precision)), false)
        RETURNING id
    ), spent AS (
        UPDATE xero_tenant_limits SET day_remaining = day_remaining - 1
        WHERE tenant_id = :tenant AND day_remaining IS NOT NULL
    )
    SELECT id FROM slot
""")
_FINISH_ONLY = text("""
    UPDATE xero_call_slots SET ends_at = clock_timestamp(), finished = true
    WHERE id = :ticket AND NOT finished
""")
_FINISH = text("""
    WITH done AS (
        UPDATE xero_call_slots SET ends_at = clock_timestamp(), finished = true
        WHERE id = :ticket AND NOT finished
    )
    UPDATE xero_tenant_limits SET
        day_remaining = coalesce(CAST(:day AS integer), day_remaining),
        paused_until = CASE
            WHEN CAST(:pause AS double precision) > 0 THEN greatest(
                coalesce(paused_until, clock_timestamp()),
                clock_timestamp() + make_interval(secs => CAST(:pause AS double precision)))
            ELSE paused_until END
    WHERE tenant_id = :tenant
""")
_PURGE = text("""
    DELETE FROM xero_call_slots
    WHERE ends_at < clock_timestamp() - make_interval(secs => CAST(:keep AS double precision))
""")


class PostgresLimits:
    """``SharedLimits`` over this deployment's PostgreSQL database."""

    def __init__(self, database: Database, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self._db = database
        self.lease_seconds = lease_seconds
        self._known: set[str] = set()  # tenants whose row exists (inserted once per process)
        self._app_seen = 0  # the app-wide minute's count when this process last counted it
        self._app_counted_at = 0.0
        self._purged_at = time.monotonic()

    async def admit(self, tenant_id: str, policy: LimitPolicy, reserve: int) -> Admitted | Refused:
        async with self._db.engine.begin() as conn:
            if tenant_id not in self._known:
                await conn.execute(_ENSURE, {"tenant": tenant_id})
            row = (await conn.execute(_LOCK, {"tenant": tenant_id})).one()
            self._known.add(tenant_id)
            now = row.now
            if row.day_remaining is not None and row.day_remaining <= reserve:
                return Refused(0.0, spent=True)
            if row.paused_until is not None and row.paused_until > now:
                return Refused((row.paused_until - now).total_seconds())
            minute = policy.minute
            counts = (await conn.execute(_COUNT, {"tenant": tenant_id, "now": now, "minute": minute})).one()
            poll = max(0.005, minute * POLL_FRACTION)
            if counts.in_flight >= policy.concurrent:
                return Refused(poll)
            if counts.in_minute >= policy.per_minute:
                # Room comes when the oldest ended call leaves the window (or soon after one ends).
                if counts.oldest_done is None:
                    return Refused(poll)
                return Refused(max(poll, (counts.oldest_done - now).total_seconds() + minute))
            wait = await self._app_wait(conn, policy, now)
            if wait > 0:
                return Refused(wait)
            ticket = (
                await conn.execute(_ADMIT, {"tenant": tenant_id, "now": now, "lease": self.lease_seconds})
            ).scalar_one()
        await self._purge_now_and_then(policy)
        return Admitted(int(ticket))

    async def _app_wait(self, conn: AsyncConnection, policy: LimitPolicy, now: datetime) -> float:
        fresh = time.monotonic() - self._app_counted_at < policy.minute / 60
        if fresh and self._app_seen < policy.app_per_minute // 2:
            self._app_seen += 1
            return 0.0
        count, oldest = (await conn.execute(_COUNT_APP, {"now": now, "minute": policy.minute})).one()
        self._app_seen, self._app_counted_at = int(count), time.monotonic()
        if count < policy.app_per_minute or oldest is None:
            return 0.0
        return float(max(0.005, (oldest - now).total_seconds() + policy.minute))

    async def finish(
        self, tenant_id: str, ticket: int, day_remaining: int | None, pause_seconds: float
    ) -> None:
        async with self._db.engine.begin() as conn:
            if day_remaining is None and pause_seconds <= 0:
                await conn.execute(_FINISH_ONLY, {"ticket": ticket})
            else:
                await conn.execute(
                    _FINISH,
                    {"ticket": ticket, "tenant": tenant_id, "day": day_remaining, "pause": pause_seconds},
                )

    async def _purge_now_and_then(self, policy: LimitPolicy) -> None:
        if time.monotonic() - self._purged_at < policy.minute:
            return
        self._purged_at = time.monotonic()
        async with self._db.engine.begin() as conn:
            await conn.execute(_PURGE, {"keep": 3 * policy.minute + self.lease_seconds})
