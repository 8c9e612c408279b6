"""Every console page (each GET page route of the app, compared with the list the check opens), with
content in it, checked in a real browser with axe-core (the npm package, loaded into the page from
tests/admin_console/axe/node_modules: no CDN) for serious or critical accessibility violations, and at
390 px and 1280 px for content cut off or past the right edge (``browser.assert_fits``). Each page's
screenshots at both widths are saved with the test's (``$LEDGERSYNC_TEST_SCREENSHOTS``); with
``LEDGERSYNC_DOCS_SCREENSHOTS=1`` they are also copied to docs/screenshots/ for docs/admin-console.md.

SQLite only, parametrised explicitly (see test_browser_sync.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import pytest
from playwright.async_api import Locator, Page, expect

from reference_client.phone import Line
from server.http.serving import ServerThread
from sync_protocol.entities import Customer
from tests.admin_console.browser import (
    DATE,
    WIDTHS,
    assert_fits,
    choose_accounts,
    pair_phone,
    reload_until,
    reload_until_text,
    sign_in,
    sync_now,
)
from tests.fixtures.browser import Screenshot
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.servers import AdminAccount
from xero_sandbox.store import Organisation

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

AXE_APP = Path(__file__).parent / "axe"
AXE_SCRIPT = AXE_APP / "node_modules" / "axe-core" / "axe.min.js"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# What axe reports and the test fails on: the two worst of its four impacts.
FAILING = ("serious", "critical")
BANK, SALES = "091", "200"
# Every page the check opens, by the route that serves it (as the app names its routes); a page seen in
# several states (empty, with content, with the reconnect banner) is checked in each.
CONSOLE_PAGES = {
    "sign-in": "/admin/sign-in",
    "home-not-connected": "/admin",
    "home-set-up": "/admin",
    "home": "/admin",
    "home-needs-reconnect": "/admin",
    "connection-not-connected": "/admin/connection",
    "connection": "/admin/connection",
    "connection-needs-reconnect": "/admin/connection",
    "tenant": "/admin/connection/tenant",
    "switch-warning": "/admin/connection/switch",
    "disconnect": "/admin/connection/disconnect",
    "settings": "/admin/settings",
    "sync": "/admin/sync",
    "sync-log": "/admin/sync-log",
    "sync-run": "/admin/sync-log/{run_id:uuid}",
    "sync-run-forward": "/admin/sync-log/{run_id:uuid}",
    "uploads": "/admin/uploads",
    "uploads-failed": "/admin/uploads",
    "upload": "/admin/uploads/{upload_id:int}",
    "upload-payment": "/admin/uploads/{upload_id:int}",
    "retry-all": "/admin/uploads/retry-all",
    "invoice": "/admin/invoices/{record_id:str}",
    "conflicts": "/admin/conflicts",
    "devices": "/admin/devices",
    "devices-pairing-code": "/admin/devices",
    "revoke": "/admin/devices/{device_id:uuid}/revoke",
    "not-found": "(any address no route has)",
    "form-expired": "(a form posted with an expired or foreign token)",
}
# GET routes of the console that are not pages: Xero's redirect back (answers with a redirect), the
# Sync page's status fragment (polled into the Sync page), static files.
NOT_PAGES = {
    "/admin/xero/callback",
    "/admin/sync/runs/{run_id:uuid}/status",
    "/admin/static/{file_path:path}",
}


def axe_installed() -> Path:
    """axe-core as package-lock.json pins it (``npm ci`` once, under a lock, as for WatermelonDB)."""
    if not AXE_SCRIPT.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed (CI runs `npm ci` in tests/admin_console/axe: .ci/run)")
        name = hashlib.sha256(str(AXE_APP.resolve()).encode()).hexdigest()[:16]
        with open(Path(tempfile.gettempdir()) / f"ledgersync-npm-ci-{name}.lock", "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            if not AXE_SCRIPT.exists():
                subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=AXE_APP, check=True, timeout=300)
    return AXE_SCRIPT


async def href(link: Locator) -> str:
    found = await link.get_attribute("href")
    assert found, link
    return found


async def violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(axe_installed()))
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}))"""
    )
    return [v for v in found if v["impact"] in FAILING]


async def test_every_console_page_passes_axe_and_fits_390_and_1280_px(
    page: Page,
    screenshot: Screenshot,
    ledgersync: ServerThread,
    admin: AdminAccount,
    sandbox: RunningSandbox,
    xero_org: Organisation,
) -> None:
    """Every page the console has (CONSOLE_PAGES names each GET route's pages), each with content in it:
    axe on each, then its fit and screenshots at both widths."""
    base = ledgersync.base_url
    problems: dict[str, list[dict[str, Any]]] = {}
    documented = os.environ.get("LEDGERSYNC_DOCS_SCREENSHOTS") == "1"

    async def check(name: str, path: str | None = None) -> None:
        if path is not None:
            await page.goto(base + path)
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        problems[name] = await violations(page)
        for width, size in WIDTHS.items():
            await page.set_viewport_size(size)
            await assert_fits(page)
            shot = await screenshot(f"{name}-{width}")
            if documented:
                DOCS_SCREENSHOTS.mkdir(exist_ok=True)
                shutil.copyfile(shot, DOCS_SCREENSHOTS / f"{name}-{width}.png")
        await page.set_viewport_size(WIDTHS["1280"])

    await check("sign-in", "/admin/sign-in")
    await sign_in(page, base, admin)
    await check("home-not-connected", "/admin")
    await check("connection-not-connected", "/admin/connection")
    # Two organisations approved: the tenant choice.
    sandbox.organisation(name="North Branch")
    await page.get_by_role("button", name="Connect to Xero").click()
    await page.get_by_role("button", name="Allow access").click()
    await expect(page.get_by_role("heading", name="Choose the Xero organisation")).to_be_visible()
    await check("tenant")
    await page.get_by_label(xero_org.name).check()
    await page.get_by_role("button", name="Use this organisation").click()
    await reload_until_text(page, page.locator("#last-sync"), DATE)
    await sync_now(page, base)
    await check("home-set-up", "/admin")
    await choose_accounts(page, base, BANK, None)  # no revenue account: an invoice fails

    phone = await pair_phone(page, base, "Sam Field")
    try:
        await check("devices-pairing-code")
        customer_id = phone.create_customer("Harbour Cafe")
        paid = phone.create_invoice(customer_id, [Line("2", "60.00", tax_type="NONE", account_code=SALES)])
        phone.create_payment(paid, "50.00")
        phone.create_invoice(customer_id, [Line("1", "10.00", tax_type="NONE")])  # fails: no revenue account
        # A field a Xero user and the phone both change: a conflict.
        contact_id, on_phone = next(
            (c.xero_id, c)
            for c in (msgspec.json.decode(p, type=Customer) for p in phone.store.records("customer").values())
            if c.xero_id and c.email
        )
        sandbox.handle.user_edit_contact(
            xero_org.tenant_id, contact_id, {"EmailAddress": "office@xero-side.example"}
        )
        phone.edit_customer(on_phone.id, email="field@phone-side.example")
        assert {r.status for r in await phone.upload()} == {"applied"}
    finally:
        await phone.close()
    await page.goto(base + "/admin/uploads?state=failed")
    await reload_until(page, page.locator("li.upload[data-state='failed']"), 1)
    failed = await href(page.locator("li.upload h2 a").first)
    await page.goto(base + "/admin/uploads?state=done")
    await reload_until(page, page.locator("li.upload[data-state='in_xero']"), 4)
    payment = await href(page.locator("li.upload", has=page.locator(".pays")).locator("h2 a"))
    invoice = await href(page.locator(".pays a"))
    await page.goto(base + "/admin/devices")
    revoke = await href(page.locator("a", has_text=re.compile("^Revoke")).first)
    await page.goto(base + "/admin/sync-log")
    runs = page.locator("table.runs tbody tr")
    pull = await href(runs.filter(has_text="manual").get_by_role("link"))
    forward = await href(runs.filter(has_text="To Xero").filter(has_text="✗ Failed").get_by_role("link"))
    await page.goto(base + forward)
    await expect(page.locator(".errors .customer")).to_have_text("Harbour Cafe")  # not a record id
    await page.goto(base + "/admin/conflicts")
    await expect(page.locator("table.conflicts tbody tr")).to_have_count(1)
    await expect(page.locator("table.conflicts td.record")).to_have_text(on_phone.name)  # not its id

    for name, path in {
        "home": "/admin",
        "connection": "/admin/connection",
        "switch-warning": "/admin/connection/switch",
        "disconnect": "/admin/connection/disconnect",
        "settings": "/admin/settings",
        "sync": "/admin/sync",
        "sync-log": "/admin/sync-log",
        "sync-run": pull,
        "sync-run-forward": forward,
        "uploads": "/admin/uploads",
        "uploads-failed": "/admin/uploads?state=failed",
        "upload": failed,
        "upload-payment": payment,
        "retry-all": "/admin/uploads/retry-all?state=failed",
        "invoice": invoice,
        "conflicts": "/admin/conflicts",
        "devices": "/admin/devices",
        "revoke": revoke,
        "not-found": "/admin/no-such-page",
    }.items():
        await check(name, path)

    # A form whose token expired (or that another site made): the error page, nothing done.
    await page.goto(base + "/admin/settings")
    await page.locator("form.settings input[name='_csrf_token']").evaluate(
        "field => { field.value = 'expired'; }"
    )
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("main")).to_contain_text("This form had expired")
    await check("form-expired")

    # Xero drops the connection: every page carries the banner.
    sandbox.handle.revoke_connection(xero_org.tenant_id)
    await sync_now(page, base, expected="failed")
    await check("home-needs-reconnect", "/admin")
    await check("connection-needs-reconnect", "/admin/connection")

    assert sorted(CONSOLE_PAGES) == sorted(problems), "a console page is not checked"
    assert not {name: found for name, found in problems.items() if found}
