"""A browser that asks for a console page that is not there gets an HTML page in the console's layout;
the admin API and clients that do not ask for HTML keep the JSON error envelope. Every page has a
favicon, so no page load logs a 404."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, Response, expect

from server.http.serving import ServerThread
from tests.admin_console.browser import sign_in
from tests.admin_console.conftest import Console
from tests.fixtures.browser import Screenshot
from tests.fixtures.servers import AdminAccount

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def test_an_unknown_console_page_is_an_html_page_for_a_browser(signed_in: Console) -> None:
    response = await signed_in.http.get("/admin/no-such-page", headers=BROWSER)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in response.text
    assert 'href="/admin"' in response.text


async def test_a_method_a_page_lacks_is_an_html_page_for_a_browser(signed_in: Console) -> None:
    response = await signed_in.http.delete("/admin/sync-log", headers=BROWSER)
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Not possible here</h1>" in response.text


async def test_api_clients_still_get_the_json_envelope(signed_in: Console) -> None:
    # An API path answers JSON even to a browser; a console path answers JSON to a client not asking for HTML.
    for path, headers in (("/admin/api/no-such-thing", BROWSER), ("/admin/no-such-page", {"Accept": "*/*"})):
        response = await signed_in.http.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json"), path
        assert response.json()["error"]["code"] == "not_found", path


async def test_the_favicon_is_served(console: Console) -> None:
    response = await console.http.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file


async def test_in_a_browser_an_unknown_page_is_a_page_and_nothing_404s(
    page: Page, screenshot: Screenshot, ledgersync: ServerThread, admin: AdminAccount
) -> None:
    base = ledgersync.base_url
    failed: list[str] = []

    def note(response: Response) -> None:
        if response.status >= 400 and not response.url.endswith("/admin/uploads/typo"):
            failed.append(f"{response.status} {response.url}")

    page.on("response", note)
    await sign_in(page, base, admin)
    icon = await page.locator("link[rel=icon]").get_attribute("href")
    assert icon is not None
    async with httpx.AsyncClient(base_url=base) as http:
        assert (await http.get(icon)).status_code == 200

    answer = await page.goto(base + "/admin/uploads/typo")
    assert answer is not None
    assert answer.status == 404
    await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("no such page")
    await screenshot("not-found")
    await page.get_by_role("link", name="Back to the console").click()
    await expect(page).to_have_url(re.compile(r"/admin$"))
    assert not failed, failed
