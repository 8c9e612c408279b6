"""Steps the browser tests share, done as a person would: signing in through the form, connecting Xero
through its consent page, choosing accounts, pairing a phone; and the layout check every page passes
at 390 px and 1280 px."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import Locator, Page, expect

from reference_client import Phone
from tests.fixtures.browser import Screenshot
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.servers import AdminAccount
from xero_sandbox.store import Organisation

DATE = re.compile(r"\d{2} \w{3} \d{4}")
WIDTHS = {"390": {"width": 390, "height": 844}, "1280": {"width": 1280, "height": 800}}

# Content cut off or out of sight sideways, at the width the page is shown at:
# - "scroll": the page scrolls sideways;
# - "wide": an element reaches past the viewport's right edge (1 px of rounding allowed);
# - "cut": an element's content is wider than its box (text clipped by overflow: hidden, or spilling
#   over its neighbours);
# - "scrolling": a box that scrolls by itself (a table's .table-wrap) has to, to show its content. At
#   390 px tables are cards and at 1280 px they fit: a .table-wrap only scrolls at widths between.
# Elements inside a box that scrolls count under "scrolling", not as wide or cut.
# Visually hidden elements (a table's header at phone width, screen-reader text) are clipped to
# nothing on purpose and do not count; nor do form controls, whose inner text the browser lays out.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (element) => ["auto", "scroll"].includes(getComputedStyle(element).overflowX);
  const insideScroller = (element) => {
    for (let up = element.parentElement; up && up !== document.body; up = up.parentElement) {
      if (scrolls(up)) return true;
    }
    return false;
  };
  const counted = [...document.querySelectorAll("body *")].filter((element) =>
    !element.closest("thead, .visually-hidden, svg, select, input, textarea, button") &&
    !insideScroller(element));
  const named = (e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}: ${
    (e.textContent || "").trim().slice(0, 40)}`;
  const wide = counted.filter((element) => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1;
  });
  const cut = counted.filter((element) =>
    element.clientWidth > 0 && !scrolls(element) && element.scrollWidth > element.clientWidth + 1);
  // Boxes that scroll sideways by themselves because their content is wider (a table at this width).
  const scrolling = [...document.querySelectorAll("body *")].filter((element) =>
    scrolls(element) && element.scrollWidth > element.clientWidth + 1);
  return {
    scroll: document.documentElement.scrollWidth, width, scrolling: scrolling.map(named),
    wide: wide.map(named).slice(0, 10),
    // Each cut box with what sticks out of it furthest, to say what to fix.
    cut: cut.slice(0, 10).map((element) => {
      const right = element.getBoundingClientRect().right;
      const out = [...element.querySelectorAll("*")]
        .filter((inner) => inner.getBoundingClientRect().right > right + 1)
        .sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right);
      return `${named(element)} <- ${out.length ? named(out[0]) : "its own text"}`;
    }),
  };
}"""


async def assert_fits(page: Page) -> None:
    """Nothing on the page is cut off or wider than the screen."""
    found = await page.evaluate(OVERFLOWING)
    assert found["scroll"] <= found["width"], (page.url, found)
    assert not found["wide"], (page.url, found)
    assert not found["cut"], (page.url, found)
    assert not found["scrolling"], (page.url, found)


async def at_both_widths(page: Page, screenshot: Screenshot, name: str) -> None:
    """The page as it is, at phone and laptop width: it fits both, and both are saved as screenshots."""
    for width, size in WIDTHS.items():
        await page.set_viewport_size(size)
        await assert_fits(page)
        await screenshot(f"{name}-{width}")


async def sign_in(page: Page, base_url: str, admin: AdminAccount, start: str = "/admin") -> None:
    await page.goto(base_url + start)
    await expect(page).to_have_url(re.compile(r"/admin/sign-in"))
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(admin.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def connect_xero(page: Page, base_url: str) -> None:
    """From a signed-in page: connect Xero through its consent page, and wait for the pull it starts."""
    await page.goto(base_url + "/admin/connection")
    await page.get_by_role("button", name="Connect to Xero").click()
    await page.get_by_role("button", name="Allow access").click()
    await expect(page.locator("#connection-status")).to_have_text("✓ Connected")
    # Connecting starts a pull; Sync now would be refused while it runs.
    await reload_until_text(page, page.locator("#last-sync"), DATE)


async def sync_now(page: Page, base_url: str, expected: str = "succeeded") -> None:
    """Sync everything now from the Sync page, and wait for that run to end as ``expected``."""
    await page.goto(base_url + "/admin/sync")
    run = page.locator("#sync-status [data-run-status]")
    # The page opens on the previous run's result: wait for the new run, not that one.
    previous = await run.get_attribute("data-run-id") if await run.count() else None
    await page.get_by_role("button", name="Sync everything now").click()
    await expect(run).not_to_have_attribute("data-run-id", previous or "")
    await expect(run).to_have_attribute("data-run-status", expected, timeout=30_000)


async def connect_and_sync(page: Page, base_url: str) -> None:
    """From a signed-in page: connect Xero through its consent page, then Sync everything."""
    await connect_xero(page, base_url)
    await sync_now(page, base_url)


async def choose_accounts(page: Page, base_url: str, bank: str | None, revenue: str | None) -> None:
    """On Settings: choose the bank account for payments and the revenue account for sales."""
    await page.goto(base_url + "/admin/settings")
    if bank is not None:
        await page.get_by_label("Bank account for payments").select_option(bank)
    if revenue is not None:
        await page.get_by_label("Revenue account for sales").select_option(revenue)
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_contain_text("Settings saved.")


async def pair_phone(page: Page, base_url: str, staff: str) -> Phone:
    """Make a pairing code on Devices and pair a phone with it (the reference client), which then
    downloads everything. The caller closes the phone."""
    await page.goto(base_url + "/admin/devices")
    await page.get_by_label("Staff member's name").fill(staff)
    await page.get_by_role("button", name="Make a pairing code").click()
    phone = Phone(base_url)
    try:
        await phone.pair(await page.locator("#pairing-code").inner_text())
        await phone.refresh()
    except BaseException:
        await phone.close()
        raise
    return phone


def set_account_status(sandbox: RunningSandbox, org: Organisation, code: str, status: str) -> None:
    """Someone archives (or restores) an account in Xero, after ledgersync mirrored it."""
    with sandbox.handle.locked():
        for account in org.accounts.values():
            if account["Code"] == code:
                account["Status"] = status


async def reload_until(page: Page, locator: Locator, count: int, within: float = 30) -> None:
    """Pages that do not update by themselves (the outbox): reload until ``locator`` matches ``count``."""
    deadline = asyncio.get_running_loop().time() + within
    while await locator.count() != count:
        assert asyncio.get_running_loop().time() < deadline, f"{locator} never matched {count} times"
        await asyncio.sleep(0.2)
        await page.reload()


async def reload_until_text(page: Page, locator: Locator, text: re.Pattern[str], within: float = 30) -> None:
    """Reload until ``locator``'s text matches ``text`` (a page that does not update by itself)."""
    deadline = asyncio.get_running_loop().time() + within
    while not text.search(await locator.inner_text()):
        assert asyncio.get_running_loop().time() < deadline, f"{locator} never matched {text.pattern}"
        await asyncio.sleep(0.2)
        await page.reload()


async def schema_renders_operations(page: Page, base_url: str) -> None:
    """``/schema`` shows the API reference with its operations, and one of them opens."""
    await page.goto(base_url + "/schema")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("ledgersync")
    # Operations render, each with its method and path: Swagger UI 4 stopped at "Unable to render".
    pair = page.locator(".opblock", has_text="/mobile/v1/pair").first
    await expect(pair.locator(".opblock-summary-method")).to_have_text("POST")
    assert await page.locator(".opblock").count() > 10
    await expect(page.get_by_text("Unable to render this definition")).to_have_count(0)
    # An operation opens and shows its responses.
    await pair.locator(".opblock-summary").click()
    await expect(pair.locator(".responses-wrapper")).to_be_visible()
