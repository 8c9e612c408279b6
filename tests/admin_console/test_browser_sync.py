"""In a real browser: sign in, connect the sandbox's Xero organisation through its consent page,
Sync now and watch the run land in the sync log.

Browser tests run on SQLite only: they test the pages; the services under them are tested on both
engines. Parametrised explicitly, so no PostgreSQL copy exists to be skipped.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import update

from server.db.database import Database
from server.db.mirror_models import XeroConnection
from server.http.serving import ServerThread
from tests.admin_console.browser import reload_until_text, sign_in
from tests.fixtures.browser import Screenshot
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.servers import AdminAccount
from xero_sandbox.faults import FaultSpec
from xero_sandbox.store import Organisation

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_admin_connects_xero_syncs_now_and_reads_the_log(
    page: Page,
    screenshot: Screenshot,
    ledgersync: ServerThread,
    admin: AdminAccount,
    xero_org: Organisation,
    sandbox: RunningSandbox,
) -> None:
    base = ledgersync.base_url
    await page.goto(base + "/admin/sync")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await screenshot("sign-in")
    await sign_in(page, base, admin)
    await page.get_by_role("link", name="Connection", exact=True).click()
    await expect(page.get_by_role("heading", name="Xero connection")).to_be_visible()
    await expect(page.get_by_role("main")).to_contain_text("not connected")
    await screenshot("connection-not-connected")

    # Connect: the real redirect to Xero's (the sandbox's) consent page and back.
    await page.get_by_role("button", name="Connect to Xero").click()
    await expect(page.get_by_role("heading", name="Allow access?")).to_be_visible()
    await screenshot("xero-consent")
    await page.get_by_role("button", name="Allow access").click()
    await expect(page).to_have_url(base + "/admin/connection")
    await expect(page.get_by_role("status")).to_contain_text(
        f"Connected to the Xero organisation {xero_org.name}"
    )
    await expect(page.get_by_role("status")).to_contain_text("A sync from Xero has started")
    await expect(page.locator("#connection-status")).to_have_text("✓ Connected")
    # Connecting pulls at once: phones need not wait for the scheduler.
    await reload_until_text(page, page.locator("#last-sync"), re.compile(r"\d{2} \w{3} \d{4}"))
    await screenshot("connection-connected")

    # Sync now: the run's progress and result appear in place, the page is never reloaded.
    await page.get_by_role("link", name="Sync", exact=True).click()
    await expect(page.get_by_role("heading", name="Sync", exact=True)).to_be_visible()
    await page.evaluate("window.notReloaded = true")
    run = page.locator("#sync-status [data-run-status]")
    # The page opens on the latest run (the connect pull, already succeeded): wait for the new one.
    connect_run = await run.get_attribute("data-run-id")
    await page.get_by_role("button", name="Sync everything now").click()
    await expect(run).not_to_have_attribute("data-run-id", connect_run or "")
    await expect(run).to_have_attribute("data-run-status", "succeeded", timeout=30_000)
    await expect(run).to_contain_text("✓ Succeeded")
    await expect(run).to_contain_text("0 errors")
    assert await page.evaluate("window.notReloaded") is True
    assert page.url == base + "/admin/sync"
    await screenshot("sync-succeeded")

    # One data type, while Xero fails: the failed run and its error are in the log.
    sandbox.handle.add_fault(FaultSpec(kind="status", status=503, route="GET /api.xro/2.0/TaxRates*"))
    await page.get_by_role("button", name="Sync tax rates").click()
    await expect(run).to_have_attribute("data-run-status", "failed", timeout=30_000)
    await expect(run).to_contain_text("Tax rates")
    sandbox.handle.faults.clear()
    await screenshot("sync-failed")

    await page.get_by_role("link", name="Sync log", exact=True).click()
    rows = page.locator("table.runs tbody tr")
    await expect(rows).to_have_count(4)
    await expect(rows.nth(0)).to_contain_text("✗ Failed")
    await expect(rows.nth(0)).to_contain_text("Tax rates")
    await expect(rows.nth(1)).to_contain_text("✓ Succeeded")
    await expect(rows.nth(1)).to_contain_text("everything")
    await expect(rows.nth(1)).to_contain_text("manual")
    await expect(rows.nth(2)).to_contain_text("everything")
    await expect(rows.nth(2)).to_contain_text("connect")
    await expect(rows.nth(3)).to_contain_text("Xero connected")
    await expect(rows.nth(3)).to_contain_text(f"Connected to the Xero organisation {xero_org.name}.")
    await screenshot("sync-log")

    await rows.nth(0).get_by_role("link").click()
    await expect(page.get_by_role("heading", name="Errors (1)")).to_be_visible()
    await expect(page.locator(".errors")).to_contain_text("Tax rates")
    await screenshot("sync-run-failed")

    await page.get_by_role("link", name="Connection").click()
    await expect(page.locator("#last-sync")).to_have_text(re.compile(r"\d{2} \w{3} \d{4}"))


async def test_admin_reconnects_a_connection_that_needs_it_and_disconnects_and_a_denial_changes_nothing(
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
    await page.get_by_role("button", name="Cancel").click()  # on Xero's consent page
    await expect(page.get_by_role("alert")).to_contain_text("Xero did not grant access")
    await expect(page.get_by_role("main")).to_contain_text("not connected")

    await page.get_by_role("button", name="Connect to Xero").click()
    await page.get_by_role("button", name="Allow access").click()
    await expect(page.locator("#connection-status")).to_have_text("✓ Connected")

    # Xero refuses the refresh token one day: the page says so, and Reconnect goes through Xero again.
    async with database.transaction() as session:
        await session.execute(
            update(XeroConnection).values(status="needs_reconnect", status_reason="Xero said invalid_grant")
        )
    await page.reload()
    await expect(page.locator("#connection-status")).to_have_text("⚠ Needs reconnect")
    await expect(page.get_by_role("alert")).to_contain_text("Xero said invalid_grant")
    await screenshot("connection-needs-reconnect")
    await page.get_by_role("button", name="Reconnect to Xero").click()
    await page.get_by_role("button", name="Allow access").click()
    await expect(page.locator("#connection-status")).to_have_text("✓ Connected")

    await page.get_by_role("link", name="Disconnect…").click()
    await expect(page.get_by_role("heading", name="Disconnect Xero?")).to_be_visible()
    await screenshot("disconnect-confirm")
    await page.get_by_role("button", name="Disconnect").click()
    await expect(page.get_by_role("status")).to_contain_text("Xero is disconnected")
    await expect(page.get_by_role("button", name="Connect to Xero")).to_be_visible()


async def test_admin_who_approves_two_xero_organisations_chooses_one(
    page: Page, screenshot: Screenshot, ledgersync: ServerThread, admin: AdminAccount, sandbox: RunningSandbox
) -> None:
    sandbox.organisation(name="North Branch")
    south = sandbox.organisation(name="South Branch")
    await sign_in(page, ledgersync.base_url, admin)
    await page.get_by_role("button", name="Connect to Xero").click()
    await page.get_by_role("button", name="Allow access").click()  # both organisations ticked
    await expect(page.get_by_role("heading", name="Choose the Xero organisation")).to_be_visible()
    await screenshot("choose-tenant")
    await page.get_by_label("South Branch").check()
    await page.get_by_role("button", name="Use this organisation").click()
    await expect(page.get_by_role("status")).to_contain_text(
        "Connected to the Xero organisation South Branch"
    )
    await expect(page.locator("#tenant-name")).to_have_text(south.name)
