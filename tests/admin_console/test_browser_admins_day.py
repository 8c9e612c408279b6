"""An admin's day, in one browser session against a real ledgersync and the Xero sandbox, as a new
admin of a small business would go through it: sign in, connect Xero, follow the set-up checklist
(bank and revenue accounts, a first phone), Sync now and read what the pull brought by type, see the
phone's uploads by customer and total, see why Xero refused two of them, fix the setting and Retry
all, open an invoice from Xero's backlink, reconnect from the banner when Xero drops the connection,
switch organisation past its warning, and read the API reference at /schema.

Each step is a function named for what the admin does; every console page on the way is checked to fit
(nothing cut off) at 390 px and 1280 px and saved as a screenshot at both. The steps' details are
tested on their own in the other test_browser_* modules; this one proves they join up.

SQLite only, parametrised explicitly (see test_browser_sync.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.async_api import Page, expect

from reference_client import Phone
from reference_client.phone import Line
from server.http.serving import ServerThread
from tests.admin_console.browser import (
    at_both_widths,
    choose_accounts,
    connect_xero,
    pair_phone,
    reload_until,
    schema_renders_operations,
    set_account_status,
    sign_in,
    sync_now,
)
from tests.fixtures.browser import Screenshot
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.servers import AdminAccount
from xero_sandbox.store import Organisation

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

# Accounts of the sandbox's seeded organisations (xero_sandbox/seed.py).
BANK, SALES, OTHER_REVENUE = "091", "200", "260"
REFUSED = f"Account code '{SALES}' is not a valid code for this document."


@dataclass
class Day:
    page: Page
    screenshot: Screenshot
    base: str
    admin: AdminAccount
    sandbox: RunningSandbox
    xero_org: Organisation

    async def look(self, name: str) -> None:
        """The admin looks at the page: it fits phone and laptop screens; both are saved."""
        await expect(self.page.get_by_role("heading", level=1)).to_be_visible()
        await at_both_widths(self.page, self.screenshot, name)


async def signs_in(day: Day) -> None:
    await day.page.goto(day.base + "/admin")
    await day.look("sign-in")
    await sign_in(day.page, day.base, day.admin)
    await expect(day.page.locator("#home-connection")).to_contain_text("✗ Not connected")
    await day.look("home-not-connected")


async def connects_xero(day: Day) -> None:
    await connect_xero(day.page, day.base)
    await expect(day.page.locator("#tenant-name")).to_have_text(day.xero_org.name)
    await day.look("connection")


async def sees_the_set_up_checklist(day: Day) -> None:
    await day.page.goto(day.base + "/admin")
    await expect(day.page.locator("#setup-heading")).to_have_text("Set up (0 of 4 done)")
    await expect(day.page.locator("#setup li[data-done='no']")).to_have_count(4)
    await day.look("home-set-up")


async def chooses_the_bank_and_revenue_accounts(day: Day) -> None:
    page = day.page
    await page.locator("#setup").get_by_role("link", name="Choose the bank account for payments").click()
    await expect(page.get_by_label("Bank account for payments")).to_have_accessible_description(
        re.compile("Payments taken on phones")
    )
    await day.look("settings")
    await choose_accounts(page, day.base, BANK, SALES)
    await page.goto(day.base + "/admin")
    await expect(page.locator("#setup-heading")).to_have_text("Set up (3 of 4 done)")


async def syncs_now_and_reads_what_the_pull_brought_by_type(day: Day) -> None:
    page = day.page
    # A Xero user renames a customer: the pull brings that one change.
    contact = sorted(day.xero_org.contacts)[0]
    day.sandbox.handle.user_edit_contact(day.xero_org.tenant_id, contact, {"Name": "Renamed In Xero Ltd"})
    await sync_now(page, day.base)
    await expect(page.locator("#sync-status")).to_contain_text("✓ Succeeded")
    await day.look("sync")
    await page.get_by_role("link", name="Sync log", exact=True).click()
    manual = page.locator("table.runs tbody tr", has_text="manual")
    await expect(manual).to_have_count(1)
    await day.look("sync-log")
    await manual.get_by_role("link").click()
    await expect(page.get_by_role("heading", name="By type")).to_be_visible()
    customers = page.locator("table.by-type tr", has=page.get_by_role("rowheader", name="Customers"))
    await expect(customers.locator("td[data-label='Changed']")).to_have_text("1")
    await expect(page.locator("table.by-type").get_by_role("rowheader", name="Tax rates")).to_be_visible()
    await day.look("sync-run")


async def pairs_a_phone(day: Day) -> Phone:
    page = day.page
    await page.goto(day.base + "/admin")
    await page.locator("#setup").get_by_role("link", name="Pair a first phone").click()
    await expect(page).to_have_url(day.base + "/admin/devices")
    phone = await pair_phone(page, day.base, "Sam Field")
    await day.look("devices-pairing-code")
    await page.goto(day.base + "/admin")
    await expect(page.locator("#setup")).to_have_count(0)  # every step done: the checklist is gone
    await expect(page.locator(".phones")).to_contain_text("Sam Field")
    await day.look("home")
    return phone


async def sees_the_phones_upload_by_customer_and_total(day: Day, phone: Phone) -> tuple[str, str]:
    """The phone makes a customer, invoices it and takes a payment. Returns the customer's id and
    the invoice's number in Xero."""
    page = day.page
    customer = phone.create_customer("Harbour Cafe")
    invoice = phone.create_invoice(customer, [Line("2", "60.00", description="Call-out", tax_type="NONE")])
    phone.create_payment(invoice, "50.00")
    assert {r.status for r in await phone.upload()} == {"applied"}
    await page.get_by_role("link", name="Uploads", exact=True).click()
    await (
        page.get_by_role("navigation", name="Show uploads")
        .get_by_role("link", name=re.compile("^Done"))
        .click()
    )
    done = page.locator("li.upload[data-state='in_xero']")
    await reload_until(page, done, 3)  # the customer, the invoice and its payment
    sent = done.filter(has=page.locator(".invoice-number"))
    await expect(sent.locator(".customer")).to_have_text("Harbour Cafe")
    await expect(sent.locator(".total")).to_have_text("NZD 120.00")
    await expect(sent.locator(".staff")).to_have_text("Sam Field")
    number = (await sent.locator(".invoice-number").inner_text()).strip()
    payment = done.filter(has=page.locator(".pays"))
    await expect(payment.locator(".pays")).to_have_text(f"{number} (Harbour Cafe)")
    await expect(payment.locator(".total")).to_have_text("50.00")
    await day.look("uploads-done")
    await payment.locator("h2 a").click()
    await day.look("upload-payment")
    return customer, number


async def sees_why_xero_refused_two_invoices(day: Day, phone: Phone, customer: str) -> None:
    page = day.page
    # The accountant archives the Sales account in Xero; the phone's next two invoices go to it.
    set_account_status(day.sandbox, day.xero_org, SALES, "ARCHIVED")
    phone.create_invoice(customer, [Line("1", "80.00", tax_type="NONE")])
    phone.create_invoice(customer, [Line("3", "25.00", tax_type="NONE")])
    assert {r.status for r in await phone.upload()} == {"applied"}
    await page.goto(day.base + "/admin")
    await page.locator(".tile[data-filter='failed']").get_by_role("link").click()
    failed = page.locator("li.upload[data-state='failed']")
    await reload_until(page, failed, 2)
    await expect(failed.first.locator(".said .voice")).to_have_text("Xero refused:")
    await expect(failed.first.locator(".xero-message")).to_have_text(REFUSED)
    await expect(failed.first.locator(".hint")).to_contain_text("Choose another account in Settings")
    await expect(failed.locator(".customer")).to_have_text(["Harbour Cafe", "Harbour Cafe"])
    await day.look("uploads-failed")
    await failed.first.locator("h2 a").click()
    await expect(page.locator(".xero-message")).to_have_text(REFUSED)
    await day.look("upload-failed")
    # The sync log's forwarding run says the same, naming the uploads by customer and total.
    await page.get_by_role("link", name="Sync log", exact=True).click()
    runs = page.locator("table.runs tbody tr", has_text="To Xero")
    await runs.filter(has_text="✗ Failed").first.get_by_role("link").click()
    error = page.locator(".errors > li").first  # one run or two, as the forwarder batched them
    await expect(error.locator(".customer")).to_have_text("Harbour Cafe")
    await expect(error.locator(".xero-message")).to_have_text(REFUSED)
    await day.look("sync-run-forward-failed")


async def fixes_the_setting_and_retries_all(day: Day, number: str) -> None:
    page = day.page
    await choose_accounts(page, day.base, None, OTHER_REVENUE)
    await page.goto(day.base + "/admin/uploads?state=failed")
    await page.get_by_role("link", name=re.compile(r"^Retry all 2 failed")).click()
    await expect(page.get_by_role("heading", name="Retry all 2 failed uploads?")).to_be_visible()
    await day.look("retry-all")
    await page.get_by_role("button", name="Retry all 2").click()
    await expect(page.get_by_role("status")).to_contain_text("2 uploads are on their way to Xero again.")
    # They reach Xero, on the revenue account now chosen.
    await page.goto(day.base + "/admin/uploads?state=done")
    await reload_until(page, page.locator("li.upload[data-state='in_xero']"), 5)
    await page.goto(day.base + "/admin/uploads?state=failed")
    await expect(page.locator("li.upload")).to_have_count(0)
    with day.sandbox.handle.locked():
        codes = {
            line["AccountCode"]
            for invoice in day.xero_org.invoices.values()
            for line in invoice["LineItems"]
            if invoice["InvoiceNumber"] != number
        }
    assert codes == {OTHER_REVENUE}, codes


async def opens_the_invoice_page_from_xeros_backlink(day: Day, number: str) -> None:
    page = day.page
    with day.sandbox.handle.locked():
        [url] = [i["Url"] for i in day.xero_org.invoices.values() if i["InvoiceNumber"] == number]
    await page.goto(url)  # as a Xero user clicking the invoice's link in Xero
    await expect(page.get_by_role("heading", name=f"Invoice {number}")).to_be_visible()
    await expect(page.locator("#invoice-customer")).to_have_text("Harbour Cafe")
    await expect(page.locator("table.lines tbody tr")).to_contain_text("Call-out")
    await expect(page.locator("#invoice-total")).to_have_text("NZD 120.00")
    await expect(page.locator("#invoice-xero-status")).to_contain_text("Approved, awaiting payment")
    await expect(page.locator("#invoice-paid")).to_have_text("50.00")
    await expect(page.locator("#invoice-due")).to_have_text("70.00")
    await day.look("invoice")


async def reconnects_from_the_banner(day: Day) -> None:
    page = day.page
    # Someone disconnects ledgersync in Xero's own settings: the next sync finds out.
    day.sandbox.handle.revoke_connection(day.xero_org.tenant_id)
    await sync_now(page, day.base, expected="failed")
    for path in ("/admin", "/admin/uploads", "/admin/devices"):
        await page.goto(day.base + path)
        await expect(page.locator("#reconnect-banner")).to_contain_text("Xero needs to be reconnected")
    await page.goto(day.base + "/admin")
    await day.look("home-needs-reconnect")
    await page.locator("#reconnect-banner").get_by_role("button", name="Reconnect to Xero").click()
    await page.get_by_role("button", name="Allow access").click()
    await expect(page.locator("#connection-status")).to_have_text("✓ Connected")
    await expect(page.locator("#reconnect-banner")).to_have_count(0)
    # Reconnecting pulls at once; the switch waits for that pull to end.
    await page.goto(day.base + "/admin/sync")
    await reload_until(page, page.locator("#sync-status [data-run-status='succeeded']"), 1)


async def switches_organisation_past_the_warning(day: Day) -> None:
    page = day.page
    day.sandbox.organisation(name="South Branch")
    await page.goto(day.base + "/admin/connection")
    await page.get_by_role("link", name="Reconnect or switch organisation…").click()
    await expect(page.get_by_role("heading", name=re.compile("switch the Xero organisation"))).to_be_visible()
    await expect(page.locator("#current-tenant")).to_have_text(day.xero_org.name)
    await day.look("switch-warning")
    await page.get_by_role("button", name="Continue to Xero").click()
    await page.get_by_role("button", name="Allow access").click()
    await expect(page.locator("#switch-warning")).to_contain_text(f"Now syncing with {day.xero_org.name}")
    await day.look("tenant")
    await page.get_by_label("South Branch").check()
    await page.get_by_role("button", name="Use this organisation").click()
    await expect(page.get_by_role("status")).to_contain_text(
        "Connected to the Xero organisation South Branch. A sync from Xero has started."
    )
    await page.goto(day.base + "/admin")
    await expect(page.locator("#home-connection")).to_contain_text("South Branch")


async def reads_the_api_reference(day: Day) -> None:
    await schema_renders_operations(day.page, day.base)
    for width in ("390", "1280"):  # Swagger UI's own page: saved, not held to the console's layout
        await day.page.set_viewport_size({"width": int(width), "height": 800})
        await day.screenshot(f"schema-{width}")


async def test_a_new_admins_day_from_sign_in_to_switching_organisation(
    page: Page,
    screenshot: Screenshot,
    ledgersync: ServerThread,
    admin: AdminAccount,
    sandbox: RunningSandbox,
    xero_org: Organisation,
) -> None:
    day = Day(page, screenshot, ledgersync.base_url, admin, sandbox, xero_org)
    await signs_in(day)
    await connects_xero(day)
    await sees_the_set_up_checklist(day)
    await chooses_the_bank_and_revenue_accounts(day)
    await syncs_now_and_reads_what_the_pull_brought_by_type(day)
    phone = await pairs_a_phone(day)
    try:
        customer, number = await sees_the_phones_upload_by_customer_and_total(day, phone)
        await sees_why_xero_refused_two_invoices(day, phone, customer)
    finally:
        await phone.close()
    await fixes_the_setting_and_retries_all(day, number)
    await opens_the_invoice_page_from_xeros_backlink(day, number)
    await reconnects_from_the_banner(day)
    await switches_organisation_past_the_warning(day)
    await reads_the_api_reference(day)
