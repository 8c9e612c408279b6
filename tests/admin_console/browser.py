"""Steps the browser tests share: signing in through the form, as a person would."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.fixtures.servers import AdminAccount


async def sign_in(page: Page, base_url: str, admin: AdminAccount, start: str = "/admin") -> None:
    await page.goto(base_url + start)
    await expect(page).to_have_url(re.compile(r"/admin/sign-in"))
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(admin.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
