"""Connecting with the scopes Xero lets each kind of app ask for: granular by default (apps created on or
after 2 March 2026), the broad set only when the setting says the app is older."""

from __future__ import annotations

import httpx
import pytest

from server.settings import Settings
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import CLIENT_ID, CLIENT_SECRET, connect, sync_and_wait


async def test_default_settings_connect_to_a_new_style_app_and_pull(
    xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient
) -> None:
    org = xero_sandbox.organisation(contacts=2, items=2)

    response = await connect(admin_client)

    assert response.status_code == 200, response.text
    assert response.json()["tenant"]["tenant_id"] == org.tenant_id
    run = await sync_and_wait(admin_client)
    assert run["status"] == "succeeded", run["errors"]


class TestBroadScopes:
    """ledgersync set for an app created before March 2026 (LEDGERSYNC_XERO_GRANULAR_SCOPES=false)."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.replace(xero_granular_scopes=False)

    async def test_broad_scopes_are_refused_at_authorize_for_a_new_style_app(
        self, xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient
    ) -> None:
        xero_sandbox.organisation(contacts=1, items=1)

        response = await connect(admin_client)

        # Xero's own error page: the browser never comes back to ledgersync's callback.
        assert response.status_code == 400
        assert response.url.path == "/identity/connect/authorize"
        assert "unauthorized_client" in response.text
        assert "accounting.transactions" in str(response.url)
        connection = (await admin_client.get("/admin/api/xero/connection")).json()
        assert connection["status"] != "connected"

    async def test_an_old_style_app_connects_with_them_and_pulls(
        self, xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, settings: Settings
    ) -> None:
        redirect = settings.xero_redirect_url
        xero_sandbox.handle.register_client(CLIENT_ID, CLIENT_SECRET, (redirect,), broad_scopes=True)
        xero_sandbox.organisation(contacts=2, items=2)

        response = await connect(admin_client)

        assert response.status_code == 200, response.text
        run = await sync_and_wait(admin_client)
        assert run["status"] == "succeeded", run["errors"]
