"""How often to poll an organisation when Xero's webhooks are not there to say when it changed.

Xero allows 5,000 calls per organisation per day. Forwarding keeps ``xero_daily_reserve`` of them
(uploads from phones must still reach Xero on a busy day); pulls other than successful scheduled ones
(Sync now, connecting, a scheduled pull that failed) spent what the sync log says they spent over the
last day. What is left, divided by what a scheduled pull of this organisation costs (its recent
scheduled pulls' mean ``xero_calls``, from the sync log; before there are any, a quiet pull's one call
per data type), is how many scheduled pulls a day the budget allows. The interval is a day over that,
but never shorter than the floor (``sync_interval_floor_minutes``) and never longer than a day.

Which interval an organisation gets (``choose``): its admin's own ``sync_interval_minutes`` wins;
with webhooks configured the server-wide ``sync_interval_minutes`` (the scheduled pull is then only the
safety net for deliveries Xero did not make); otherwise the budget's. The same choice gives the admin
the freshness it results in (``Schedule``): a change made in Xero reaches the mirror within one
interval (and a pull's own duration), within seconds with webhooks.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import msgspec
from sqlalchemy import and_, func, not_, select

from server.core.data_types import DATA_TYPES
from server.db.database import Database
from server.db.mirror_models import SyncRun

XERO_DAILY_CALLS = 5000
DAY = timedelta(days=1)
# A pull that finds nothing new makes one call per data type (no page past the first).
QUIET_PULL_CALLS = len(DATA_TYPES)

Mode = Literal["admin", "webhooks", "budget", "fixed", "off"]


class Schedule(msgspec.Struct):
    """An organisation's scheduled pulls and the freshness they give (the admin API's ``schedule``)."""

    # admin: its own interval; webhooks: the safety net; budget: sized to Xero's budget; fixed: the
    # server-wide interval (budget sizing off); off: no scheduled pulls.
    mode: Mode
    interval_minutes: float | None  # between scheduled pulls (None: off)
    # How stale the mirror may be behind Xero: seconds with webhooks, else the interval.
    freshness: str
    pull_cost_calls: float  # a scheduled pull's mean cost in Xero calls (an estimate before any)
    budget_interval_minutes: float  # the most often Xero's daily budget allows scheduled pulls
    daily_calls: int  # Xero's budget per organisation per day
    daily_reserve: int  # of it, kept for forwarding
    other_calls_last_day: int  # spent over the last day by pulls other than successful scheduled ones


@dataclass(frozen=True)
class Usage:
    """What the sync log says of an organisation's pulls over the last day."""

    scheduled_pulls: int = 0
    scheduled_calls: int = 0
    other_calls: int = 0

    @property
    def pull_cost(self) -> float:
        if self.scheduled_pulls == 0:
            return float(QUIET_PULL_CALLS)
        return max(1.0, self.scheduled_calls / self.scheduled_pulls)


def budget_interval(usage: Usage, reserve: int, floor: timedelta) -> timedelta:
    """The shortest interval Xero's daily budget allows (never below ``floor``, at most a day)."""
    available = XERO_DAILY_CALLS - reserve - usage.other_calls
    if available <= usage.pull_cost:
        return DAY
    pulls_a_day = available / usage.pull_cost
    # Rounded up to the second: rounding down could fit one pull too many into the day.
    seconds = math.ceil(DAY.total_seconds() / pulls_a_day)
    return min(DAY, max(floor, timedelta(seconds=seconds)))


def _minutes(interval: timedelta) -> str:
    """``2 min 15 s``, ``15 min``, ``3.5 hours``: as an admin reads an interval."""
    seconds = round(interval.total_seconds())
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} hours".replace(".0 ", " ")
    minutes, rest = divmod(seconds, 60)
    if minutes == 0:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


@dataclass(frozen=True)
class Policy:
    """The server-wide part of the choice (from Settings)."""

    interval: timedelta  # sync_interval_minutes (0: scheduled pulls off)
    webhooks: bool  # LEDGERSYNC_XERO_WEBHOOK_KEY is set
    reserve: int = 0  # xero_daily_reserve
    floor: timedelta = timedelta(minutes=2)  # sync_interval_floor_minutes
    budget_aware: bool = True  # without webhooks, size the interval to the budget (else: fixed)

    @classmethod
    def fixed(cls, interval: timedelta) -> Policy:
        """Every organisation on ``interval`` (or its admin's own): no budget sizing."""
        return cls(interval=interval, webhooks=False, budget_aware=False)

    def choose(self, own_minutes: int | None, usage: Usage) -> Schedule:
        allowed = budget_interval(usage, self.reserve, self.floor)
        mode: Mode
        interval: timedelta | None
        if self.interval <= timedelta(0):
            mode, interval = "off", None
        elif own_minutes:
            mode, interval = "admin", timedelta(minutes=own_minutes)
        elif self.webhooks:
            mode, interval = "webhooks", self.interval
        elif not self.budget_aware:
            mode, interval = "fixed", self.interval
        else:
            mode, interval = "budget", allowed
        if mode == "webhooks":
            freshness = f"within seconds (Xero's webhooks); a scheduled pull every {_minutes(self.interval)}"
        elif interval is None:
            freshness = "only when someone syncs (scheduled pulls are off)"
        elif mode == "admin" and self.webhooks:
            freshness = f"within seconds (Xero's webhooks); a scheduled pull every {_minutes(interval)}"
        else:
            freshness = f"within about {_minutes(interval)} (a scheduled pull every {_minutes(interval)})"
        return Schedule(
            mode=mode,
            interval_minutes=None if interval is None else round(interval.total_seconds() / 60, 2),
            freshness=freshness,
            pull_cost_calls=round(usage.pull_cost, 1),
            budget_interval_minutes=round(allowed.total_seconds() / 60, 2),
            daily_calls=XERO_DAILY_CALLS,
            daily_reserve=self.reserve,
            other_calls_last_day=usage.other_calls,
        )


async def usage_of(
    database: Database, organisation_ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, Usage]:
    """Each organisation's pulls over the last day, from the sync log (one grouped query)."""
    if not organisation_ids:
        return {}
    counted = and_(SyncRun.trigger == "schedule", SyncRun.status == "succeeded")
    async with database.reads() as session:
        rows = await session.execute(
            select(
                SyncRun.organisation_id,
                func.count(SyncRun.id).filter(counted),
                func.coalesce(func.sum(SyncRun.xero_calls).filter(counted), 0),
                # Everything else spent calls too: Sync now, connecting, failed scheduled pulls.
                func.coalesce(func.sum(SyncRun.xero_calls).filter(not_(counted)), 0),
            )
            .where(
                SyncRun.organisation_id.in_(organisation_ids),
                SyncRun.kind == "pull",
                SyncRun.started_at >= now - DAY,
            )
            .group_by(SyncRun.organisation_id)
        )
        return {
            org: Usage(scheduled_pulls=int(pulls), scheduled_calls=int(calls), other_calls=int(other))
            for org, pulls, calls, other in rows
        }
