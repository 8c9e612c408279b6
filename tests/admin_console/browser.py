"""Steps the browser tests share: signing in through the form, as a person would."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import Locator, Page, expect

from tests.fixtures.servers import AdminAccount


async def sign_in(page: Page, base_url: str, admin: AdminAccount, start: str = "/admin") -> None:
    await page.goto(base_url + start)
    await expect(page).to_have_url(re.compile(r"/admin/sign-in"))
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(admin.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def connect_and_sync(page: Page, base_url: str) -> None:
    """From a signed-in page: connect Xero through its consent page, then Sync everything."""
    await page.goto(base_url + "/admin/connection")
    await page.get_by_role("button", name="Connect to Xero").click()
    await page.get_by_role("button", name="Allow access").click()
    await expect(page.locator("#connection-status")).to_have_text("✓ Connected")
    # Connecting starts a pull; Sync now would be refused while it runs.
    await reload_until_text(page, page.locator("#last-sync"), re.compile(r"\d{2} \w{3} \d{4}"))
    await page.goto(base_url + "/admin/sync")
    run = page.locator("#sync-status [data-run-status]")
    # The page opens on the connect pull's result: wait for the new run, not that one.
    connect_run = await run.get_attribute("data-run-id")
    await page.get_by_role("button", name="Sync everything now").click()
    await expect(run).not_to_have_attribute("data-run-id", connect_run or "")
    await expect(run).to_have_attribute("data-run-status", "succeeded", timeout=30_000)


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
