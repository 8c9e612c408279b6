"""Every console page, checked in a real browser with axe-core (the npm package, loaded into the page
from tests/admin_console/axe/node_modules: no CDN) for serious or critical accessibility violations,
and at 390 px and 1280 px for content past the right edge. With ``LEDGERSYNC_DOCS_SCREENSHOTS=1`` the
pages' screenshots at both widths are written to docs/screenshots/ for docs/admin-console.md.

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

import pytest
from playwright.async_api import Page, expect

from reference_client import Phone
from reference_client.phone import Line
from server.http.serving import ServerThread
from tests.admin_console.browser import assert_fits, connect_and_sync, reload_until, sign_in
from tests.fixtures.servers import AdminAccount
from xero_sandbox.store import Organisation

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

AXE_APP = Path(__file__).parent / "axe"
AXE_SCRIPT = AXE_APP / "node_modules" / "axe-core" / "axe.min.js"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"390": {"width": 390, "height": 844}, "1280": {"width": 1280, "height": 800}}
# What axe reports and the test fails on: the two worst of its four impacts.
FAILING = ("serious", "critical")


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


async def violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(axe_installed()))
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}))"""
    )
    return [v for v in found if v["impact"] in FAILING]


async def test_every_console_page_passes_axe_and_fits_390_and_1280_px(
    page: Page, ledgersync: ServerThread, admin: AdminAccount, xero_org: Organisation
) -> None:
    base = ledgersync.base_url
    await page.goto(base + "/admin/sign-in")
    pages: dict[str, str] = {"sign-in": "/admin/sign-in"}
    problems: dict[str, list[dict[str, Any]]] = {"sign-in": await violations(page)}
    await sign_in(page, base, admin)
    pages["home-before-connecting"] = "/admin"
    problems["home-before-connecting"] = await violations(page)
    await connect_and_sync(page, base)
    await page.goto(base + "/admin/settings")
    await page.get_by_label("Bank account for payments").select_option("091")
    await page.get_by_role("button", name="Save settings").click()
    await page.goto(base + "/admin/devices")
    await page.get_by_label("Staff member's name").fill("Sam Field")
    await page.get_by_role("button", name="Make a pairing code").click()
    phone = Phone(base)
    try:
        await phone.pair(await page.locator("#pairing-code").inner_text())
        await phone.refresh()
        customer = sorted(record_id for (_, record_id) in phone.store.records("customer"))[0]
        phone.create_invoice(customer, [Line("1", "10.00", tax_type="NONE")])  # no revenue account: fails
        await phone.upload()
    finally:
        await phone.close()
    await page.goto(base + "/admin/uploads?state=failed")
    await reload_until(page, page.locator("li.upload[data-state='failed']"), 1)
    upload = await page.locator("li.upload h2 a").first.get_attribute("href")
    device = await page.goto(base + "/admin/devices")
    assert device is not None
    revoke = await page.locator("a", has_text=re.compile("^Revoke")).first.get_attribute("href")
    run = await page.goto(base + "/admin/sync-log")
    assert run is not None
    run_page = await page.locator("table.runs tbody tr a").first.get_attribute("href")
    pages.update(
        {
            "home": "/admin",
            "connection": "/admin/connection",
            "switch-warning": "/admin/connection/switch",
            "disconnect": "/admin/connection/disconnect",
            "settings": "/admin/settings",
            "sync": "/admin/sync",
            "sync-log": "/admin/sync-log",
            "sync-run": str(run_page),
            "uploads": "/admin/uploads",
            "uploads-failed": "/admin/uploads?state=failed",
            "upload": str(upload),
            "retry-all": "/admin/uploads/retry-all?state=failed",
            "conflicts": "/admin/conflicts",
            "devices": "/admin/devices",
            "revoke": str(revoke),
            "not-found": "/admin/no-such-page",
        }
    )
    for name, path in pages.items():
        if name in problems:
            continue
        await page.goto(base + path)
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        problems[name] = await violations(page)

    documented = os.environ.get("LEDGERSYNC_DOCS_SCREENSHOTS") == "1"
    if documented:
        DOCS_SCREENSHOTS.mkdir(exist_ok=True)
    for width, size in WIDTHS.items():
        await page.set_viewport_size(size)
        for name, path in pages.items():
            if name in ("sign-in", "home-before-connecting"):
                continue
            await page.goto(base + path)
            await assert_fits(page)
            if documented:
                await page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}-{width}.png"), full_page=True)

    assert not {name: found for name, found in problems.items() if found}
