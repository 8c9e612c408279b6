"""Without Xero's webhooks, each organisation is polled as often as Xero's daily budget allows.

The budget is 5,000 calls per organisation per day, less the forwarding reserve and what other pulls
spent; a scheduled pull costs what the sync log says such pulls cost. Never below the floor; an
admin's own interval wins; with webhooks, the server-wide interval is the safety net.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from server.core.crypto import SecretBox
from server.db.database import Database
from server.db.mirror_models import SyncRun
from server.db.types import utcnow
from server.forwarding.settings import ForwardingSettingsService, SettingsChange
from server.mirror.budget import DAY, QUIET_PULL_CALLS, XERO_DAILY_CALLS, Policy, Usage, budget_interval
from server.mirror.scheduler import MirrorScheduler
from server.mirror.service import SyncService
from server.settings import Settings
from server.xero_link.access import XeroAccess
from tests.factories import make_organisation
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import CLIENT_ID, bind_connection, connect, sync_and_wait

FLOOR = timedelta(minutes=2)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Scheduled pulls on (the mirror tests' servers have them off), no webhook key: budget-sized.
    return settings.replace(sync_interval_minutes=15)


@pytest.mark.parametrize(
    ("usage", "reserve"),
    [
        (Usage(), 500),
        (Usage(scheduled_pulls=10, scheduled_calls=300), 500),
        (Usage(scheduled_pulls=3, scheduled_calls=21, other_calls=2000), 500),
        (Usage(scheduled_pulls=1, scheduled_calls=60), 4000),
    ],
)
def test_the_interval_never_lets_a_days_scheduled_pulls_spend_more_than_the_budget_left(
    usage: Usage, reserve: int
) -> None:
    interval = budget_interval(usage, reserve, FLOOR)
    pulls_a_day = DAY // interval
    assert pulls_a_day * usage.pull_cost <= XERO_DAILY_CALLS - reserve - usage.other_calls
    # And not needlessly less often: within a pull (and the rounding to a second) of the budget.
    assert (pulls_a_day + 1) * usage.pull_cost >= 0.99 * (XERO_DAILY_CALLS - reserve - usage.other_calls)
    assert interval >= FLOOR


def test_a_cheap_pull_is_held_to_the_floor_and_a_spent_budget_to_once_a_day() -> None:
    assert budget_interval(Usage(scheduled_pulls=5, scheduled_calls=5), 500, FLOOR) == FLOOR
    assert budget_interval(Usage(other_calls=4600), 500, FLOOR) == DAY


def test_before_any_scheduled_pull_a_pull_is_reckoned_a_quiet_one() -> None:
    # 4,500 calls over 8 a pull (one per data type): 562 pulls a day, one every 154 s.
    assert Usage().pull_cost == QUIET_PULL_CALLS == 8
    assert budget_interval(Usage(), 500, FLOOR) == timedelta(seconds=154)


def test_the_admins_own_interval_wins_and_webhooks_keep_the_server_wide_one() -> None:
    fifteen = timedelta(minutes=15)
    budget = Policy(interval=fifteen, webhooks=False, reserve=500, floor=FLOOR)
    assert budget.choose(None, Usage()).mode == "budget"
    assert budget.choose(None, Usage()).interval_minutes == 2.57
    own = budget.choose(30, Usage())
    assert (own.mode, own.interval_minutes) == ("admin", 30)
    hooked = Policy(interval=fifteen, webhooks=True, reserve=500, floor=FLOOR).choose(None, Usage())
    assert (hooked.mode, hooked.interval_minutes) == ("webhooks", 15)
    assert hooked.freshness.startswith("within seconds")
    off = Policy(interval=timedelta(0), webhooks=False).choose(None, Usage())
    assert (off.mode, off.interval_minutes) == ("off", None)


async def _connected(xero_sandbox: RunningSandbox, database: Database, access: XeroAccess) -> uuid.UUID:
    org = xero_sandbox.organisation(contacts=3, items=1)
    organisation_id = await make_organisation(database)
    tokens = xero_sandbox.handle.identity.token_response(
        xero_sandbox.handle.grant_tokens(CLIENT_ID, [org.tenant_id])
    )
    await bind_connection(access, database, organisation_id, org.tenant_id, tokens)
    return organisation_id


async def _age_runs(database: Database, organisation_id: uuid.UUID, by: timedelta) -> None:
    async with database.transaction() as session:
        await session.execute(
            update(SyncRun).where(SyncRun.organisation_id == organisation_id).values(started_at=utcnow() - by)
        )


async def test_the_scheduler_pulls_on_the_budgets_interval_from_what_its_pulls_cost(
    xero_sandbox: RunningSandbox, database: Database, settings: Settings
) -> None:
    access = XeroAccess(settings, database, SecretBox.from_text(settings.secret_key))
    organisation_id = await _connected(xero_sandbox, database, access)
    sync = SyncService(database, access, "scheduler")
    policy = Policy(interval=timedelta(minutes=15), webhooks=False, reserve=500, floor=FLOOR)
    scheduler = MirrorScheduler(database, sync, timedelta(minutes=15), policy=policy)
    try:
        first = await sync.run(organisation_id, trigger="schedule")
        assert first is not None
        second = await sync.run(organisation_id, trigger="schedule")
        assert second is not None
        runs = [await sync.log.get(organisation_id, run) for run in (first, second)]
        calls = [run.xero_calls for run in runs]
        schedule = (await scheduler.schedules())[organisation_id]
        await _age_runs(database, organisation_id, timedelta(minutes=3))
        due_three_minutes_on = await scheduler.tick()  # a fixed 15 minutes would not be due yet
        await scheduler.stop()
    finally:
        await access.close()

    assert schedule.mode == "budget"
    assert schedule.pull_cost_calls == round(sum(calls) / 2, 1)
    expected = budget_interval(Usage(scheduled_pulls=2, scheduled_calls=sum(calls)), 500, FLOOR)
    assert schedule.interval_minutes == round(expected.total_seconds() / 60, 2)
    assert expected < timedelta(minutes=3)
    assert due_three_minutes_on == [organisation_id]


async def test_an_admins_own_interval_wins_over_the_budgets(
    xero_sandbox: RunningSandbox, database: Database, settings: Settings
) -> None:
    access = XeroAccess(settings, database, SecretBox.from_text(settings.secret_key))
    organisation_id = await _connected(xero_sandbox, database, access)
    sync = SyncService(database, access, "scheduler")
    policy = Policy(interval=timedelta(minutes=15), webhooks=False, reserve=500, floor=FLOOR)
    scheduler = MirrorScheduler(database, sync, timedelta(minutes=15), policy=policy)
    try:
        await sync.run(organisation_id, trigger="schedule")
        await ForwardingSettingsService(database).update(
            organisation_id, "admin@example.com", SettingsChange(sync_interval_minutes=30)
        )
        await _age_runs(database, organisation_id, timedelta(minutes=20))
        due = await scheduler.tick()
        schedule = (await scheduler.schedules())[organisation_id]
        await scheduler.stop()
    finally:
        await access.close()

    assert due == []  # 20 minutes ago: the budget would pull, the admin's 30 minutes do not
    assert (schedule.mode, schedule.interval_minutes) == ("admin", 30)


async def test_the_admin_sees_the_freshness_in_the_api_and_on_the_sync_page(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient
) -> None:
    xero_sandbox.organisation(contacts=2, items=1)
    not_yet = await admin_client.get("/admin/api/sync/schedule")
    assert not_yet.status_code == 404
    await connect(admin_client)
    assert (await sync_and_wait(admin_client))["status"] == "succeeded"

    schedule = (await admin_client.get("/admin/api/sync/schedule")).json()
    page = (await admin_client.get("/admin/sync")).text

    assert schedule["mode"] == "budget"  # the test server has no webhook key
    assert schedule["daily_calls"] == 5000
    assert schedule["daily_reserve"] == 500
    # The first pull (trigger: connect/manual): every data type but payments (none without phone invoices).
    assert schedule["other_calls_last_day"] >= QUIET_PULL_CALLS - 1
    assert schedule["interval_minutes"] == schedule["budget_interval_minutes"] >= 2
    assert schedule["freshness"].startswith("within about ")
    assert 'id="freshness"' in page
    assert f"Changes made in Xero reach ledgersync {schedule['freshness']}." in page
