"""At phone width (390 px) the Settings page fits: nothing wider than the screen, every field reachable
without scrolling sideways, with Xero's accounts in the lists and a problem shown next to a field.

SQLite only, parametrised explicitly (see test_browser_sync.py).
"""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from server.http.serving import ServerThread
from tests.admin_console.browser import connect_and_sync, sign_in
from tests.fixtures.browser import PHONE, Screenshot
from tests.fixtures.servers import AdminAccount
from xero_sandbox.store import Organisation

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

# Elements reaching past the viewport's right edge (1 px of rounding allowed); the visually hidden ones
# (a table's header at phone width, screen-reader text) are clipped to nothing and do not count.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")].filter((element) => {
    if (element.closest("thead, .visually-hidden")) return false;
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1;
  });
  return {
    scroll: document.documentElement.scrollWidth, width,
    wide: wide.map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`).slice(0, 10),
  };
}"""


async def assert_fits(page: Page) -> None:
    found = await page.evaluate(OVERFLOWING)
    assert found["scroll"] <= found["width"], found
    assert not found["wide"], found


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
