"""In a real browser: choose the bank and revenue accounts, then retry an upload Xero refused.

SQLite only, parametrised explicitly (see test_browser_sync.py).
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from reference_client.phone import Line
from server.http.serving import ServerThread
from tests.admin_console.browser import (
    choose_accounts,
    connect_and_sync,
    pair_phone,
    reload_until,
    set_account_status,
    sign_in,
)
from tests.fixtures.browser import Screenshot
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.servers import AdminAccount
from xero_sandbox.store import Organisation

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

# Accounts of the sandbox's seeded organisations (xero_sandbox/seed.py).
OTHER_BANK, SALES, OTHER_REVENUE, INTEREST_INCOME = "091", "200", "260", "270"
REFUSED = "Account code '270' is not a valid code for this document."


async def test_admin_chooses_accounts_and_options_with_messages_next_to_bad_fields(
    page: Page, screenshot: Screenshot, ledgersync: ServerThread, admin: AdminAccount, xero_org: Organisation
) -> None:
    base = ledgersync.base_url
    await sign_in(page, base, admin)
    await connect_and_sync(page, base)
    await page.get_by_role("link", name="Settings").click()
    await expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    await screenshot("settings-defaults")

    bank = page.get_by_label("Bank account for payments")
    revenue = page.get_by_label("Revenue account for sales")
    await expect(bank.locator("option", has_text="(BANK)")).not_to_have_count(0)
    await bank.select_option(OTHER_BANK)
    await revenue.select_option(OTHER_REVENUE)
    await page.get_by_label("Send payments to Xero").uncheck()
    await page.get_by_label("Draft (DRAFT)").check()
    interval = page.get_by_label("Minutes between syncs")
    await interval.fill("often")
    await page.get_by_role("button", name="Save settings").click()
    # Nothing saved; the message sits next to the field, what was entered is kept.
    await expect(page.get_by_role("alert")).to_contain_text("nothing was saved")
    await expect(page.locator("#sync_interval_minutes-problem")).to_contain_text("enter whole minutes")
    await expect(interval).to_have_attribute("aria-invalid", "true")
    await expect(bank).to_have_value(OTHER_BANK)
    await screenshot("settings-invalid")

    await interval.fill("5000")  # the service's own rule, shown the same way
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#sync_interval_minutes-problem")).to_contain_text("between 1 and 1440")

    await interval.fill("30")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_contain_text("Settings saved.")
    await expect(bank).to_have_value(OTHER_BANK)
    await expect(revenue).to_have_value(OTHER_REVENUE)
    await expect(page.get_by_label("Send payments to Xero")).not_to_be_checked()
    await expect(page.get_by_label("Draft (DRAFT)")).to_be_checked()
    await expect(interval).to_have_value("30")
    await screenshot("settings-saved")

    # The change is in the sync log, with who made it and what changed.
    await page.get_by_role("link", name="Sync log", exact=True).click()
    await page.locator("table.runs tbody tr", has_text="Settings change").get_by_role("link").click()
    await expect(page.get_by_role("heading", name="Settings change")).to_be_visible()
    await expect(page.get_by_role("main")).to_contain_text(admin.email)
    await expect(page.locator("tr", has_text="Bank account for payments")).to_contain_text(OTHER_BANK)


async def test_a_failed_upload_shows_xeros_message_and_is_retried_from_uploads(
    page: Page,
    screenshot: Screenshot,
    ledgersync: ServerThread,
    admin: AdminAccount,
    sandbox: RunningSandbox,
    xero_org: Organisation,
) -> None:
    base = ledgersync.base_url
    await sign_in(page, base, admin)
    await connect_and_sync(page, base)
    await choose_accounts(page, base, OTHER_BANK, SALES)

    # A phone, paired with a code from the Devices page, invoices against an account Xero then archives.
    phone = await pair_phone(page, base, "Sam Field")
    try:
        customer = sorted(record_id for (_, record_id) in phone.store.records("customer"))[0]
        phone.create_invoice(customer, [Line("1", "12.00", tax_type="OUTPUT2", account_code=INTEREST_INCOME)])
        set_account_status(sandbox, xero_org, INTEREST_INCOME, "ARCHIVED")
        assert {result.status for result in await phone.upload()} == {"applied"}
    finally:
        await phone.close()

    await page.get_by_role("link", name="Uploads").click()
    await page.get_by_role("link", name=re.compile(r"^Failed")).click()
    failed = page.locator("li.upload[data-state='failed']")
    await reload_until(page, failed, 1)
    await expect(failed).to_contain_text("✗ Failed")
    await expect(failed.locator(".xero-message")).to_have_text(REFUSED)
    await expect(failed.locator(".hint")).to_contain_text("Choose another account in Settings")
    await screenshot("uploads-failed")

    # The sync log's forwarding run names the error and links to the upload.
    await page.get_by_role("link", name="Sync log", exact=True).click()
    await page.locator("table.runs tbody tr", has_text="To Xero").first.get_by_role("link").click()
    await expect(page.locator(".xero-message")).to_have_text(REFUSED)
    await screenshot("sync-run-forward-failed")
    await page.locator(".errors a").first.click()
    await expect(page.get_by_role("heading", name=re.compile(r"^Invoice upload \d+$"))).to_be_visible()
    await screenshot("upload-failed")

    set_account_status(sandbox, xero_org, INTEREST_INCOME, "ACTIVE")  # the cause fixed in Xero
    await page.get_by_role("button", name=re.compile(r"^Retry upload")).click()
    await expect(page.get_by_role("status")).to_contain_text("on its way to Xero again")
    await page.goto(base + "/admin/uploads?state=done")
    done = page.locator("li.upload[data-state='in_xero']")
    await reload_until(page, done, 1)
    await expect(done).to_contain_text("✓ In Xero")
    await screenshot("uploads-done")
    await page.goto(base + "/admin/uploads?state=failed")
    await expect(page.locator("li.upload")).to_have_count(0)


async def test_upload_messages_say_who_said_them(
    page: Page, screenshot: Screenshot, ledgersync: ServerThread, admin: AdminAccount, xero_org: Organisation
) -> None:
    """No revenue account chosen (ledgersync's problem), payments kept on the server (a setting) and
    nothing Xero said: each upload's message is labelled by its source, once, with what to do."""
    base = ledgersync.base_url
    await sign_in(page, base, admin)
    await connect_and_sync(page, base)
    await page.goto(base + "/admin/settings")
    await page.get_by_label("Bank account for payments").select_option(OTHER_BANK)
    await page.get_by_label("Send payments to Xero").uncheck()
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_contain_text("Settings saved.")

    phone = await pair_phone(page, base, "Sam Field")
    try:
        customer = sorted(record_id for (_, record_id) in phone.store.records("customer"))[0]
        phone.create_invoice(customer, [Line("1", "10.00", tax_type="OUTPUT2")])  # no account anywhere
        paid = phone.create_invoice(customer, [Line("1", "12.00", tax_type="OUTPUT2", account_code=SALES)])
        phone.create_payment(paid, "5.00")
        assert {result.status for result in await phone.upload()} == {"applied"}
    finally:
        await phone.close()

    await page.goto(base + "/admin/uploads?state=failed")
    failed = page.locator("li.upload[data-state='failed']")
    await reload_until(page, failed, 1)
    await expect(failed.locator(".said")).to_have_count(1)
    await expect(failed.locator(".said .voice")).to_have_text("ledgersync could not send:")
    await expect(failed.locator(".said")).to_contain_text("no revenue account")
    await expect(failed.locator(".hint")).to_have_text(
        "What to do: Choose a revenue account for sales in Settings, then Retry."
    )
    await expect(failed.locator(".xero-message")).to_have_count(0)
    await expect(failed).not_to_contain_text("Xero refused")
    await screenshot("uploads-no-revenue-account")

    await page.goto(base + "/admin/uploads?state=held")
    held = page.locator("li.upload[data-state='held']")
    await reload_until(page, held, 1)
    await expect(held.locator(".said")).to_have_count(1)
    await expect(held.locator(".said .voice")).to_have_text("Kept by your settings:")
    await expect(held.locator(".said")).to_contain_text("does not send payments to Xero")
    await expect(held.locator(".hint")).to_contain_text("turn that option on in Settings")
    await screenshot("uploads-held")
