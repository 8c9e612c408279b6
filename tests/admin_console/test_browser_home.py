"""In a real browser: the home page after sign-in (connection, last pull by type, uploads, phones,
Xero's call budget) and the site-wide banner while Xero needs reconnecting.

SQLite only, parametrised explicitly (see test_browser_sync.py).
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import update

from server.db.database import Database
from server.db.mirror_models import XeroConnection
from server.http.serving import ServerThread
from tests.admin_console.browser import connect_and_sync, pair_phone, sign_in
from tests.fixtures.browser import Screenshot
from tests.fixtures.servers import AdminAccount
from xero_sandbox.store import Organisation

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_home_page_says_what_flows_and_what_needs_the_admin(
    page: Page, screenshot: Screenshot, ledgersync: ServerThread, admin: AdminAccount, xero_org: Organisation
) -> None:
    base = ledgersync.base_url
    await sign_in(page, base, admin)
    await expect(page).to_have_url(base + "/admin")
    await expect(page.get_by_role("heading", name="Home", exact=True)).to_be_visible()
    await expect(page.locator("#home-connection")).to_contain_text("✗ Not connected")
    await expect(page.locator("#last-pull")).to_contain_text("None yet")
    await screenshot("home-not-connected")

    await connect_and_sync(page, base)
    await page.get_by_role("link", name="Home", exact=True).click()
    await expect(page.locator("#home-connection")).to_contain_text("✓ Connected")
    await expect(page.locator("#home-connection")).to_contain_text(xero_org.name)
    await expect(page.locator("#last-pull")).to_contain_text("just now")
    customers = page.locator("table.by-type tr", has=page.get_by_role("rowheader", name="Customers"))
    await expect(customers.locator("td").first).to_have_text(re.compile(r"^[1-9]\d*$"))
    await expect(page.locator("table.by-type").get_by_role("rowheader", name="Tax rates")).to_be_visible()

    # Each outbox count is one click from its filtered list.
    failed = page.locator(".tile[data-filter='failed']")
    await expect(failed).to_contain_text("0")
    await failed.get_by_role("link").click()
    await expect(page).to_have_url(base + "/admin/uploads?state=failed")
    await page.go_back()

    await expect(page.get_by_role("heading", name="Phones")).to_be_visible()
    await expect(page.get_by_role("main")).to_contain_text("No phone is paired")
    budget = page.locator("#budget-text")
    await expect(budget).to_contain_text(re.compile(r"[1-9]\d* of 5,000 calls used"))
    bar = page.locator("svg.budget rect[data-share]")
    assert 0 < float(await bar.get_attribute("data-share") or "0") < 0.1
    await screenshot("home-connected")


async def test_every_page_shows_the_reconnect_banner_while_xero_needs_it(
    page: Page,
    screenshot: Screenshot,
    ledgersync: ServerThread,
    admin: AdminAccount,
    xero_org: Organisation,
    database: Database,
) -> None:
    base = ledgersync.base_url
    await sign_in(page, base, admin)
    await page.get_by_role("button", name="Connect to Xero").click()
    await page.get_by_role("button", name="Allow access").click()
    await expect(page.locator("#connection-status")).to_have_text("✓ Connected")
    for path in ("/admin", "/admin/uploads", "/admin/settings"):
        await page.goto(base + path)
        await expect(page.locator("#reconnect-banner")).to_have_count(0)

    async with database.transaction() as session:
        await session.execute(
            update(XeroConnection).values(status="needs_reconnect", status_reason="Xero said invalid_grant")
        )
    for path in ("/admin", "/admin/uploads", "/admin/settings", "/admin/sync-log", "/admin/devices"):
        await page.goto(base + path)
        await expect(page.locator("#reconnect-banner")).to_contain_text("Xero needs to be reconnected")
    await screenshot("banner-needs-reconnect")
    await page.goto(base + "/admin/uploads")
    await page.locator("#reconnect-banner").get_by_role("button", name="Reconnect to Xero").click()
    await page.get_by_role("button", name="Allow access").click()
    await expect(page.locator("#connection-status")).to_have_text("✓ Connected")
    await page.goto(base + "/admin/uploads")
    await expect(page.locator("#reconnect-banner")).to_have_count(0)


async def test_the_set_up_checklist_stays_until_every_step_is_done(
    page: Page, screenshot: Screenshot, ledgersync: ServerThread, admin: AdminAccount, xero_org: Organisation
) -> None:
    base = ledgersync.base_url
    await sign_in(page, base, admin)
    await expect(page.locator("#setup")).to_have_count(0)  # nothing to set up before connecting
    await connect_and_sync(page, base)
    await page.goto(base + "/admin")
    steps = page.locator("#setup li")
    await expect(steps).to_have_count(4)
    await expect(page.locator("#setup li[data-done='no']")).to_have_count(4)
    await expect(page.locator("#setup-heading")).to_have_text("Set up (0 of 4 done)")
    await screenshot("home-setup")

    await page.locator("#setup").get_by_role("link", name="Choose the bank account for payments").click()
    bank = page.get_by_label("Bank account for payments")
    await expect(bank).to_have_accessible_description(re.compile("Payments taken on phones"))
    await expect(page.get_by_label("Send payments to Xero")).to_have_accessible_description(
        re.compile("payments stay on the server")
    )
    await bank.select_option("091")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_contain_text("Settings saved.")
    await page.goto(base + "/admin")
    await expect(page.locator("#setup li[data-done='yes']")).to_have_count(2)  # bank, options reviewed
    await page.goto(base + "/admin/settings")
    await page.get_by_label("Revenue account for sales").select_option("200")
    await page.get_by_role("button", name="Save settings").click()
    await page.goto(base + "/admin")
    await expect(page.locator("#setup-heading")).to_have_text("Set up (3 of 4 done)")

    await page.locator("#setup").get_by_role("link", name="Pair a first phone").click()
    await expect(page).to_have_url(base + "/admin/devices")
    await (await pair_phone(page, base, "Sam Field")).close()
    await page.goto(base + "/admin")
    await expect(page.locator("#setup")).to_have_count(0)
    await expect(page.locator(".phones")).to_contain_text("Sam Field")
    await expect(page.locator(".phones")).to_contain_text("just now")
