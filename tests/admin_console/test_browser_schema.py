"""In a real browser: ``/schema`` renders the API reference (Swagger UI 5 reads the OpenAPI 3.1 the
server emits) from assets the server itself serves, with nothing fetched from anywhere else."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Route, expect

from server.http.serving import ServerThread
from tests.fixtures.browser import Screenshot

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_schema_page_renders_the_operations_offline(
    page: Page, screenshot: Screenshot, ledgersync: ServerThread
) -> None:
    server = urlsplit(ledgersync.base_url).netloc
    elsewhere: list[str] = []

    async def only_this_server(route: Route) -> None:
        # Anything not from this server (a CDN, a validator badge) is refused and noted.
        if urlsplit(route.request.url).netloc == server:
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_this_server)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))

    await page.goto(ledgersync.base_url + "/schema")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("ledgersync")
    # Operations render, each with its method and path: Swagger UI 4 stopped at "Unable to render".
    pair = page.locator(".opblock", has_text="/mobile/v1/pair").first
    await expect(pair.locator(".opblock-summary-method")).to_have_text("POST")
    assert await page.locator(".opblock").count() > 10
    await expect(page.get_by_text("Unable to render this definition")).to_have_count(0)
    # An operation opens and shows its responses.
    await pair.locator(".opblock-summary").click()
    await expect(pair.locator(".responses-wrapper")).to_be_visible()
    await screenshot("schema")
    assert not elsewhere, f"the page fetched from elsewhere: {elsewhere}"
    assert not problems, problems
