"""In a real browser: switching the Xero organisation, done safely. A warning page says what follows;
after the switch a pull of the new organisation starts at once, phones' old cursors get
``resync_required``, uploads made for the old organisation are not sent to the new one, and the sync
log has every event (connect, settings, pairing, switch).

SQLite only, parametrised explicitly (see test_browser_sync.py).
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.async_api import Page, expect

from reference_client.phone import Line
from server.http.serving import ServerThread
from tests.admin_console.browser import pair_phone, reload_until, reload_until_text, sign_in
from tests.fixtures.browser import Screenshot
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.servers import AdminAccount
from xero_sandbox.store import Organisation

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

OTHER_BANK, SALES = "091", "200"
DATE = re.compile(r"\d{2} \w{3} \d{4}")


async def test_switching_organisation_warns_pulls_the_new_one_resyncs_phones_and_strands_old_uploads(
    page: Page,
    screenshot: Screenshot,
    ledgersync: ServerThread,
    admin: AdminAccount,
    sandbox: RunningSandbox,
    xero_org: Organisation,
) -> None:
    base = ledgersync.base_url
    south = sandbox.organisation(name="South Branch")
    await sign_in(page, base, admin)
    await page.get_by_role("button", name="Connect to Xero").click()
    await page.get_by_role("button", name="Allow access").click()
    await expect(page.locator("#switch-warning")).to_have_count(0)  # nothing to switch from yet
    await page.get_by_label(xero_org.name).check()
    await page.get_by_role("button", name="Use this organisation").click()
    await reload_until_text(page, page.locator("#last-sync"), DATE)  # the first connect pulled at once

    await page.goto(base + "/admin/settings")
    await page.get_by_label("Bank account for payments").select_option(OTHER_BANK)
    await page.get_by_label("Revenue account for sales").select_option(SALES)
    await page.get_by_label("Send payments to Xero").uncheck()
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_contain_text("Settings saved.")
    phone = await pair_phone(page, base, "Sam Field")
    try:
        customer = sorted(record_id for (_, record_id) in phone.store.records("customer"))[0]
        invoice = phone.create_invoice(customer, [Line("1", "40.00", tax_type="NONE")])
        phone.create_payment(invoice, "40.00")
        assert {r.status for r in await phone.upload()} == {"applied"}
        await page.goto(base + "/admin/uploads?state=held")
        await reload_until(page, page.locator("li.upload[data-state='held']"), 1)

        # Reconnecting says first what choosing another organisation would do.
        await page.goto(base + "/admin/connection")
        await page.get_by_role("link", name="Reconnect or switch organisation…").click()
        await expect(
            page.get_by_role("heading", name=re.compile("switch the Xero organisation"))
        ).to_be_visible()
        await expect(page.locator("#current-tenant")).to_have_text(xero_org.name)
        await expect(page.locator("#unsent-uploads")).to_contain_text("1 upload is not in")
        await expect(page.locator("#unsent-uploads")).to_contain_text("not sent to the new organisation")
        await screenshot("switch-warning")
        await page.get_by_role("button", name="Continue to Xero").click()
        await page.get_by_role("button", name="Allow access").click()
        await expect(page.locator("#switch-warning")).to_contain_text(f"Now syncing with {xero_org.name}")
        await page.get_by_label("South Branch").check()
        await page.get_by_role("button", name="Use this organisation").click()
        await expect(page.get_by_role("status")).to_contain_text(
            "Connected to the Xero organisation South Branch. A sync from Xero has started."
        )

        # A pull of the new organisation starts at once.
        await page.goto(base + "/admin/sync-log")
        switch_pull = (
            page.locator("table.runs tbody tr", has_text="From Xero")
            .filter(has=page.get_by_role("cell", name="switch", exact=True))
            .filter(has_text="✓ Succeeded")
        )
        await reload_until(page, switch_pull, 1)
        rows = page.locator("table.runs tbody tr")
        for event in ("Xero organisation switched", "Phone paired", "Settings change", "Xero connected"):
            await expect(rows.filter(has_text=event)).to_have_count(1)
        await screenshot("sync-log-events")

        # The phone's cursor is from before the switch: it is told to resync, and gets South Branch.
        report = await phone.refresh()
        assert report.resynced
        names = {json.loads(payload)["name"] for payload in phone.store.records("customer").values()}
        assert names == {contact["Name"] for contact in south.contacts.values()}, names
    finally:
        await phone.close()

    # The payment made for the old organisation is not sent to the new one; it says so.
    await page.goto(base + "/admin/uploads?state=failed")
    failed = page.locator("li.upload[data-state='failed']")
    await expect(failed).to_have_count(1)
    await expect(failed.locator(".said")).to_contain_text(
        f"made for the Xero organisation {xero_org.name}; not sent to South Branch"
    )
    await page.goto(base + "/admin")
    await expect(page.locator("#home-connection")).to_contain_text("South Branch")
    with sandbox.handle.locked():
        assert not south.invoices
        assert not getattr(south, "payments", {})
