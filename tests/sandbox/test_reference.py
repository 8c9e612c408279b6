"""Organisation, Accounts and TaxRates as seeded, with Xero's filters."""

from __future__ import annotations

import httpx

from tests.fixtures.sandbox import RunningSandbox
from xero_sandbox.store import Organisation


def test_organisation_describes_the_tenant(xero: httpx.Client, xero_org: Organisation) -> None:
    (org,) = xero.get("/Organisation").json()["Organisations"]
    assert (org["OrganisationID"], org["Name"], org["BaseCurrency"]) == (
        xero_org.tenant_id,
        xero_org.name,
        "NZD",
    )


def test_chart_of_accounts_has_bank_and_revenue_accounts(xero: httpx.Client) -> None:
    accounts = xero.get("/Accounts").json()["Accounts"]
    assert len(accounts) >= 30
    assert {"BANK", "REVENUE"} <= {a["Type"] for a in accounts}


def test_where_type_bank_returns_only_bank_accounts(xero: httpx.Client) -> None:
    banks = xero.get("/Accounts", params={"where": 'Type=="BANK"'}).json()["Accounts"]
    assert banks
    assert {a["Type"] for a in banks} == {"BANK"}


def test_tax_rates_cover_every_status(xero: httpx.Client) -> None:
    rates = xero.get("/TaxRates").json()["TaxRates"]
    assert len(rates) >= 10
    assert {r["Status"] for r in rates} == {"ACTIVE", "DELETED", "ARCHIVED", "PENDING"}
    active = xero.get("/TaxRates", params={"where": 'Status=="ACTIVE"'}).json()["TaxRates"]
    assert {r["Status"] for r in active} == {"ACTIVE"}


def test_tax_rates_ignore_if_modified_since(sandbox: RunningSandbox, xero: httpx.Client) -> None:
    sandbox.handle.advance(60)
    later = sandbox.handle.now().isoformat()
    assert xero.get("/TaxRates", headers={"If-Modified-Since": later}).json()["TaxRates"]
    assert xero.get("/Accounts", headers={"If-Modified-Since": later}).json()["Accounts"] == []


def test_tax_rate_by_tax_type(xero: httpx.Client) -> None:
    rate = xero.get("/TaxRates/OUTPUT2").json()["TaxRates"][0]
    assert (rate["Name"], rate["EffectiveRate"]) == ("GST on Income", 15.0)


def test_get_account_by_id(xero: httpx.Client) -> None:
    account = xero.get("/Accounts").json()["Accounts"][0]
    assert xero.get(f"/Accounts/{account['AccountID']}").json()["Accounts"][0]["Code"] == account["Code"]


def test_envelope_carries_xero_fields(xero: httpx.Client) -> None:
    body = xero.get("/Accounts").json()
    assert body["Status"] == "OK"
    assert body["DateTimeUTC"].startswith("/Date(")
    assert {"Id", "ProviderName"} <= body.keys()


def test_bad_where_is_a_400(xero: httpx.Client) -> None:
    assert xero.get("/Accounts", params={"where": 'Name.Contains("x")'}).status_code == 400
