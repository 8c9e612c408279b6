"""At phone width (390 px) the Settings page (and every other page) fits: nothing wider than the screen,
every field reachable without scrolling sideways, with Xero's accounts in the lists and a problem shown
next to a field. At 1280 px the sync log's table fits with its Errors column in view.

SQLite only, parametrised explicitly (see test_browser_sync.py).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from server.core.data_types import DATA_TYPES
from server.db.database import Database
from server.db.mirror_models import SyncRun
from server.db.models import Organisation as OrganisationRow
from server.db.types import utcnow
from server.http.serving import ServerThread
from tests.admin_console.browser import assert_fits, connect_and_sync, sign_in
from tests.fixtures.browser import PHONE, Screenshot
from tests.fixtures.servers import AdminAccount
from xero_sandbox.store import Organisation

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_settings_fit_a_phone_screen(
    page: Page, screenshot: Screenshot, ledgersync: ServerThread, admin: AdminAccount, xero_org: Organisation
) -> None:
    base = ledgersync.base_url
    await sign_in(page, base, admin)
    await connect_and_sync(page, base)
    await page.set_viewport_size(PHONE)
    await page.goto(base + "/admin/settings")
    await expect(page.get_by_label("Revenue account for sales").locator("option")).not_to_have_count(1)
    await assert_fits(page)
    await screenshot("settings-390")

    await page.get_by_label("Minutes between syncs").fill("often")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#sync_interval_minutes-problem")).to_be_visible()
    await assert_fits(page)
    await screenshot("settings-390-problem")


async def test_every_console_page_fits_a_phone_screen(
    page: Page, screenshot: Screenshot, ledgersync: ServerThread, admin: AdminAccount, xero_org: Organisation
) -> None:
    base = ledgersync.base_url
    await sign_in(page, base, admin)
    await connect_and_sync(page, base)
    await page.set_viewport_size(PHONE)
    for path in (
        "/admin",
        "/admin/connection",
        "/admin/sync",
        "/admin/sync-log",
        "/admin/uploads",
        "/admin/conflicts",
        "/admin/devices",
        "/admin/no-such-page",
    ):
        await page.goto(base + path)
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        await assert_fits(page)
        await screenshot(path.rsplit("/", 1)[-1] + "-390")


async def test_the_sync_log_fits_a_laptop_screen_with_errors_visible_and_times_readable(
    page: Page, screenshot: Screenshot, ledgersync: ServerThread, admin: AdminAccount, database: Database
) -> None:
    base = ledgersync.base_url
    async with database.transaction() as session:
        organisation = await session.scalar(
            select(OrganisationRow.id).where(OrganisationRow.name == admin.organisation)
        )
        assert organisation is not None
        now = utcnow()
        error = {"data_type": "invoice", "message": "Email address must be valid.", "record": "x"}
        session.add_all(
            [
                SyncRun(
                    organisation_id=organisation,
                    trigger="schedule",
                    types=",".join(DATA_TYPES),
                    status="succeeded",
                    started_at=now - timedelta(hours=3),
                    finished_at=now,
                    fetched=12345,
                    created=1200,
                    updated=11000,
                    deleted=145,
                ),
                SyncRun(
                    organisation_id=organisation,
                    kind="forward",
                    trigger="upload",
                    types="invoice,payment",
                    status="failed",
                    started_at=now - timedelta(minutes=5),
                    finished_at=now,
                    fetched=3,
                    created=2,
                    errors=[error],
                ),
                SyncRun(
                    organisation_id=organisation,
                    kind="settings",
                    trigger="admin",
                    types="settings",
                    status="succeeded",
                    started_at=now,
                    finished_at=now,
                    actor="office.manager.with.a.long.address@example-plumbing-services.co.nz",
                ),
            ]
        )
    await sign_in(page, base, admin)
    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.goto(base + "/admin/sync-log")
    table = page.locator("table.runs")
    await expect(table.locator("tbody tr")).to_have_count(3)
    fit = await page.evaluate(
        """() => {
      const wrap = document.querySelector(".table-wrap");
      const headers = [...document.querySelectorAll("table.runs th")];
      const errors = headers.find((th) => th.textContent === "Errors");
      const cut = [...document.querySelectorAll("table.runs th, table.runs td")]
        .filter((cell) => cell.scrollWidth > cell.clientWidth + 1).map((cell) => cell.textContent);
      return {
        page: document.documentElement.scrollWidth <= document.documentElement.clientWidth,
        inside: wrap.scrollWidth <= wrap.clientWidth,
        errors: errors.getBoundingClientRect().right <= wrap.getBoundingClientRect().right,
        cut,
      };
    }"""
    )
    assert fit == {"page": True, "inside": True, "errors": True, "cut": []}, fit
    # Every Started cell is one line of "how long ago" and one of the exact time, none wrapping further.
    started = table.locator("tbody td.started")
    await expect(started.nth(0).locator(".ago")).to_have_text("just now")
    await expect(started.nth(1).locator(".ago")).to_have_text("5 minutes ago")
    await expect(started.nth(2).locator(".ago")).to_have_text("3 hours ago")
    await expect(started.nth(2).locator(".exact")).to_have_text(re.compile(r"^\d{2} \w{3} \d{2}:\d{2} UTC$"))
    for n in range(3):
        box = await started.nth(n).bounding_box()
        assert box is not None
        assert box["height"] < 70, box  # two lines, not four
    await expect(table.locator("tbody tr").nth(1).locator("td.errors-count")).to_have_text("1")
    await screenshot("sync-log-1280")

    await page.set_viewport_size(PHONE)
    await page.reload()
    await assert_fits(page)
    await screenshot("sync-log-390")
