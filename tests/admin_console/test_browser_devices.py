"""In a real browser at phone width, by keyboard: pair a phone with a pairing code (text and QR code),
see it sync, revoke it after a confirmation."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, expect

from server.http.serving import ServerThread
from tests.admin_console.browser import sign_in
from tests.fixtures.browser import PHONE, Screenshot
from tests.fixtures.devices import PROTOCOL
from tests.fixtures.servers import AdminAccount

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_admin_pairs_a_phone_sees_it_sync_and_revokes_it_at_phone_width_by_keyboard(
    page: Page, screenshot: Screenshot, ledgersync: ServerThread, admin: AdminAccount
) -> None:
    base = ledgersync.base_url
    await page.set_viewport_size(PHONE)
    await page.goto(base + "/admin/devices")
    # Sign in by keyboard alone: the email field has the focus, Tab to the password, Enter submits.
    await expect(page.get_by_label("Email")).to_be_focused()
    await page.keyboard.type(admin.email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(admin.password)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    assert page.url == base + "/admin/devices"
    # The first Tab reaches the skip link, which takes the focus to the page's content.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to the page's content")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("main")).to_be_focused()

    await page.get_by_label("Staff member's name").focus()
    await page.keyboard.type("Sam Field")
    await page.keyboard.press("Enter")
    code = page.locator("#pairing-code")
    await expect(code).to_have_text(re.compile(r"^[A-Z2-9]{5}-[A-Z2-9]{5}$"))
    await expect(page.locator(".qr svg title")).to_have_text(f"Pairing code {await code.inner_text()}")
    await screenshot("pairing-code")

    async with httpx.AsyncClient(base_url=base, headers=PROTOCOL) as phone:
        paired = await phone.post(
            "/mobile/v1/pair", json={"code": await code.inner_text(), "device_name": "Sam's phone"}
        )
        assert paired.status_code == 201, paired.text
        phone.headers["Authorization"] = f"Bearer {paired.json()['token']}"
        assert (await phone.get("/mobile/v1/changes")).status_code == 200

        await page.get_by_role("link", name="Devices").click()
        row = page.locator("table.devices tbody tr", has_text="Sam Field")
        await expect(row).to_contain_text("Sam's phone")
        await expect(row).to_contain_text("✓ Active")
        await expect(row.locator("td[data-label='Last sync']")).not_to_have_text("never")
        await expect(row.locator("td[data-label='Last seen']")).not_to_have_text("never")
        await screenshot("devices")

        # Revoking asks first (a page, no script needed): Cancel leaves the phone syncing.
        revoke = row.get_by_role("link", name="Revoke Sam Field's Sam's phone")
        await revoke.click()
        await expect(page.get_by_role("heading", name="Revoke Sam Field's Sam's phone?")).to_be_visible()
        await expect(page.get_by_role("main")).to_contain_text("cannot be undone")
        await page.get_by_role("link", name="Cancel").click()
        await expect(row).to_contain_text("✓ Active")
        assert (await phone.get("/mobile/v1/changes")).status_code == 200

        await revoke.focus()
        await page.keyboard.press("Enter")
        await screenshot("revoke-confirmation")
        await page.get_by_role("button", name="Revoke this device").focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_contain_text("The device is revoked")
        await expect(row).to_contain_text("✗ Revoked")
        await screenshot("device-revoked")
        refused = await phone.get("/mobile/v1/changes")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "device_revoked"


async def test_pairing_without_a_name_says_what_is_missing(
    page: Page, ledgersync: ServerThread, admin: AdminAccount
) -> None:
    await sign_in(page, ledgersync.base_url, admin, "/admin/devices")
    await page.get_by_label("Staff member's name").fill("   ")
    await page.get_by_role("button", name="Make a pairing code").click()
    await expect(page.locator("#pairing")).to_contain_text("Enter the staff member's name.")
