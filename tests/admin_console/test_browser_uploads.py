"""In a real browser: uploads in the office's words (customer, invoice number, total, what a payment
pays, staff member, when), a rejection's reason, search, and Retry all after fixing the setting.

SQLite only, parametrised explicitly (see test_browser_sync.py).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import httpx
import pytest
from playwright.async_api import Page, expect

from reference_client.phone import Line
from server.http.serving import ServerThread
from sync_protocol.messages import InvoiceDraft, InvoiceLineDraft, UpsertInvoice
from tests.admin_console.browser import choose_accounts, connect_and_sync, pair_phone, reload_until, sign_in
from tests.fixtures.browser import Screenshot
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.servers import AdminAccount
from xero_sandbox.store import Organisation

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

OTHER_BANK, SALES = "091", "200"


def bad_total_invoice(customer_id: str) -> UpsertInvoice:
    """An invoice whose total is not the sum of its lines: refused at the door (totals_mismatch)."""
    line = InvoiceLineDraft(
        description="Call-out", quantity="1", unit_amount="10.00", account_code=SALES,
        tax_type="NONE", line_amount="10.00", tax_amount="0.00",
    )  # fmt: skip
    draft = InvoiceDraft(
        id=str(uuid.uuid4()), customer_id=customer_id, date=dt.date.today(), lines=[line],
        sub_total="10.00", total_tax="0.00", total="99.00",
    )  # fmt: skip
    return UpsertInvoice(mutation_id=str(uuid.uuid4()), invoice=draft)


async def test_uploads_in_business_terms_with_reasons_search_and_retry_all(
    page: Page, screenshot: Screenshot, ledgersync: ServerThread, admin: AdminAccount, xero_org: Organisation
) -> None:
    base = ledgersync.base_url
    await sign_in(page, base, admin)
    await connect_and_sync(page, base)
    # Payments are kept on the server for now.
    await page.goto(base + "/admin/settings")
    await page.get_by_label("Bank account for payments").select_option(OTHER_BANK)
    await page.get_by_label("Revenue account for sales").select_option(SALES)
    await page.get_by_label("Send payments to Xero").uncheck()
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_contain_text("Settings saved.")

    phone = await pair_phone(page, base, "Sam Field")
    try:
        customer_id = phone.create_customer("Harbour Cafe")
        invoice_id = phone.create_invoice(customer_id, [Line("2", "60.00", tax_type="NONE")])
        phone.create_payment(invoice_id, "50.00")
        phone.create_payment(invoice_id, "20.00")
        phone.queue(bad_total_invoice(customer_id))
        results = await phone.upload()
        assert [r.status for r in results] == ["applied", "applied", "applied", "applied", "rejected"], [
            (r.code, r.message) for r in results
        ]
    finally:
        await phone.close()

    # The invoice reaches Xero and is named by its number, customer and total.
    await page.goto(base + "/admin/uploads?state=done")
    invoice = page.locator("li.upload[data-state='in_xero']", has_text="Invoice")
    await reload_until(page, invoice, 1)
    number = (await invoice.locator(".invoice-number").inner_text()).strip()
    assert re.fullmatch(r"INV-\d+", number), number
    await expect(invoice.locator(".customer")).to_have_text("Harbour Cafe")
    await expect(invoice.locator(".total")).to_have_text("NZD 120.00")
    await expect(invoice.locator(".staff")).to_have_text("Sam Field")
    await expect(invoice).not_to_contain_text(invoice_id)

    # Payments are held by the setting: each says which invoice it pays, how much, and why.
    await page.goto(base + "/admin/uploads?state=held")
    held = page.locator("li.upload[data-state='held']")
    await reload_until(page, held, 2)
    await expect(held.first.locator(".pays")).to_have_text(f"{number} (Harbour Cafe)")
    await expect(held.first.locator(".total")).to_have_text("20.00")
    await expect(held.first.locator(".said")).to_contain_text("does not send payments to Xero")
    await screenshot("uploads-held-business-terms")

    # The rejection shows its reason, on the page and in the admin API.
    await page.goto(base + "/admin/uploads?state=rejected")
    rejected = page.locator("li.upload[data-state='rejected']")
    await expect(rejected).to_have_count(1)
    await expect(rejected.locator(".said")).to_contain_text("ledgersync refused it at upload")
    await expect(rejected.locator(".said")).to_contain_text("99.00")
    await expect(rejected.locator(".customer")).to_have_text("Harbour Cafe")
    await rejected.get_by_role("link").first.click()
    await expect(page.get_by_role("main")).to_contain_text("totals_mismatch")
    await screenshot("upload-rejected")
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    async with httpx.AsyncClient(base_url=base, cookies=cookies) as http:
        listed = (await http.get("/admin/api/uploads", params={"state": "rejected"})).json()
    [api_rejected] = listed["uploads"]
    assert api_rejected["last_error"], api_rejected
    assert api_rejected["error_code"] == "totals_mismatch"

    # Search finds by customer and by staff member.
    await page.goto(base + "/admin/uploads")
    await page.get_by_label("Search by customer, invoice number or staff member").fill("harbour")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#search-result")).to_contain_text("5 uploads match")
    await page.get_by_label("Search by customer, invoice number or staff member").fill(number)
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("li.upload")).to_have_count(3)  # the invoice and the two payments
    await page.goto(base + "/admin/uploads?q=nobody-at-all")
    await expect(page.locator("li.upload")).to_have_count(0)

    # Change the setting, then Retry all held, after a confirmation.
    await page.goto(base + "/admin/settings")
    await page.get_by_label("Send payments to Xero").check()
    await page.get_by_role("button", name="Save settings").click()
    await page.goto(base + "/admin/uploads?state=held")
    await page.get_by_role("link", name=re.compile(r"^Retry all 2 held")).click()
    await expect(page.get_by_role("heading", name="Retry all 2 held uploads?")).to_be_visible()
    await screenshot("retry-all-confirm")
    await page.get_by_role("button", name="Retry all 2").click()
    await expect(page.get_by_role("status")).to_contain_text("2 uploads are on their way to Xero again.")
    await page.goto(base + "/admin/uploads?state=done")
    await reload_until(page, page.locator("li.upload[data-state='in_xero']"), 4)
    await page.goto(base + "/admin/uploads?state=held")
    await expect(page.locator("li.upload")).to_have_count(0)


async def test_xeros_backlink_opens_the_invoice_page(
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
    phone = await pair_phone(page, base, "Sam Field")
    try:
        customer_id = phone.create_customer("Harbour Cafe")
        phone.create_invoice(
            customer_id,
            [
                Line("2", "60.00", description="Call-out", tax_type="OUTPUT2"),
                Line("1", "15.50", tax_type="NONE"),
            ],
        )
        assert {r.status for r in await phone.upload()} == {"applied"}
    finally:
        await phone.close()
    await page.goto(base + "/admin/uploads?state=done")
    await reload_until(page, page.locator("li.upload[data-state='in_xero']", has_text="Invoice"), 1)

    # The invoice as Xero holds it carries the backlink; a Xero user clicking it lands here.
    with sandbox.handle.locked():
        [url] = [i["Url"] for i in xero_org.invoices.values() if i.get("Url")]
    assert url.startswith(base + "/admin/invoices/")
    await page.goto(url)
    await expect(page.get_by_role("heading", name=re.compile(r"^Invoice INV-\d+$"))).to_be_visible()
    await expect(page.locator("#invoice-customer")).to_have_text("Harbour Cafe")
    lines = page.locator("table.lines tbody tr")
    await expect(lines).to_have_count(2)
    await expect(lines.first).to_contain_text("Call-out")
    await expect(lines.first).to_contain_text("120.00")
    await expect(page.locator("#invoice-tax")).to_have_text("18.00")
    await expect(page.locator("#invoice-total")).to_have_text("NZD 153.50")
    await expect(page.locator("#invoice-xero-status")).to_contain_text("Approved, awaiting payment")
    link = page.get_by_role("link", name=re.compile("^Open in Xero"))
    assert (await link.get_attribute("href") or "").startswith(
        "https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID="
    )
    await screenshot("invoice-page")
    await page.get_by_role("link", name=re.compile(r"^Invoice upload \d+")).click()
    await expect(page.get_by_role("heading", name=re.compile(r"^Invoice upload \d+$"))).to_be_visible()
