"""Scopes as Xero has them since 2 March 2026: new-style apps may only ask for granular scopes, old-style
apps may still ask for the broad ones, and every API call needs a scope covering it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.sandbox import TEST_CLIENT, RunningSandbox
from xero_sandbox import RegisteredClient
from xero_sandbox.store import Organisation

BROAD = "offline_access accounting.settings accounting.contacts accounting.transactions"
GRANULAR = "offline_access accounting.settings accounting.contacts accounting.invoices accounting.payments"
OLD_APP = RegisteredClient(
    client_id="old-app",
    client_secret="old-secret",
    redirect_uris=TEST_CLIENT.redirect_uris,
    broad_scopes=True,
)


def _authorize(sandbox: RunningSandbox, client_id: str, scope: str) -> httpx.Response:
    return sandbox.http().get(
        "/identity/connect/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": TEST_CLIENT.redirect_uris[0],
            "scope": scope,
            "state": "s",
            "sandbox_auto_consent": "true",
        },
    )


def _problem(response: httpx.Response) -> tuple[int, str]:
    body: dict[str, Any] = response.json()
    return response.status_code, body["Detail"]


def test_a_new_style_app_asking_for_broad_scopes_is_refused_at_authorize(
    sandbox: RunningSandbox, xero_org: Organisation
) -> None:
    response = _authorize(sandbox, TEST_CLIENT.client_id, BROAD)

    # Xero shows its error page; nothing is redirected to the app.
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "unauthorized_client" in response.text
    assert "Invalid scope for client" in response.text


def test_a_new_style_app_asking_for_granular_scopes_connects(
    sandbox: RunningSandbox, xero_org: Organisation
) -> None:
    response = _authorize(sandbox, TEST_CLIENT.client_id, GRANULAR)
    assert response.status_code == 302
    assert "code=" in response.headers["location"]


def test_an_old_style_app_may_still_ask_for_broad_scopes_and_use_them(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    sb: RunningSandbox = make_sandbox(clients=(TEST_CLIENT, OLD_APP))
    org = sb.organisation(contacts=1, items=1)
    sb.client = OLD_APP
    tokens = sb.authorize([org.tenant_id], scope=BROAD)
    xero = sb.api(org.tenant_id, tokens["access_token"])

    assert xero.get("/Invoices").status_code == 200
    assert xero.get("/Payments").status_code == 200
    assert _authorize(sb, OLD_APP.client_id, GRANULAR).status_code == 302  # it may migrate


def test_an_unknown_scope_is_invalid_scope(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    response = _authorize(sandbox, TEST_CLIENT.client_id, "offline_access accounting.everything")
    assert response.status_code == 400
    assert "invalid_scope" in response.text


def test_calls_outside_the_granted_scopes_get_401_authorization_unsuccessful(
    sandbox: RunningSandbox, xero_org: Organisation
) -> None:
    tokens = sandbox.authorize([xero_org.tenant_id], scope="offline_access accounting.contacts.read")
    xero = sandbox.api(xero_org.tenant_id, tokens["access_token"])

    assert xero.get("/Contacts").status_code == 200
    refused = xero.put("/Contacts", json={"Name": "Not allowed"})
    assert _problem(refused) == (401, "AuthorizationUnsuccessful")
    assert refused.json()["Title"] == "Unauthorized"
    assert _problem(xero.get("/Invoices")) == (401, "AuthorizationUnsuccessful")
    assert _problem(xero.get("/TaxRates")) == (401, "AuthorizationUnsuccessful")
    assert sandbox.handle.state.organisation(xero_org.tenant_id) is not None
    assert not any(c["Name"] == "Not allowed" for c in xero_org.contacts.values())


def test_items_are_readable_with_the_invoices_scope_and_settings_read_only_reads(
    sandbox: RunningSandbox, xero_org: Organisation
) -> None:
    invoices_only = sandbox.authorize([xero_org.tenant_id], scope="accounting.invoices")
    assert sandbox.api(xero_org.tenant_id, invoices_only["access_token"]).get("/Items").status_code == 200
    read_only = sandbox.authorize([xero_org.tenant_id], scope="accounting.settings.read")
    xero = sandbox.api(xero_org.tenant_id, read_only["access_token"])
    assert xero.get("/Accounts").status_code == 200
    assert xero.put("/Items", json={"Code": "X1", "Name": "X"}).status_code == 401


def test_the_control_api_will_not_mint_broad_tokens_for_a_new_style_app(
    sandbox: RunningSandbox, xero_org: Organisation
) -> None:
    response = sandbox.control().post("/tokens", json={"client_id": TEST_CLIENT.client_id, "scope": BROAD})
    assert response.status_code == 400
    assert "unauthorized_client" in response.text
