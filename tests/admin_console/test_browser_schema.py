"""In a real browser: ``/schema`` renders the API reference (Swagger UI 5 reads the OpenAPI 3.1 the
server emits) from assets the server itself serves, with nothing fetched from anywhere else."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Route

from server.http.serving import ServerThread
from tests.admin_console.browser import schema_renders_operations
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

    await schema_renders_operations(page, ledgersync.base_url)
    await screenshot("schema")
    assert not elsewhere, f"the page fetched from elsewhere: {elsewhere}"
    assert not problems, problems
