"""The control API: deterministic seeds, acting as a Xero user, ledger, call counts, reset, scale."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.sandbox import RunningSandbox
from tests.sandbox.support import create_invoice, first_contact_id
from xero_sandbox.store import Organisation


def test_seeding_is_deterministic(sandbox: RunningSandbox) -> None:
    first = sandbox.control().post("/organisations", json={"seed": 7, "contacts": 5}).json()
    first_contacts = sorted(sandbox.handle.organisation(first["tenantId"]).contacts)
    sandbox.handle.reset()
    second = sandbox.control().post("/organisations", json={"seed": 7, "contacts": 5}).json()
    assert second["tenantId"] == first["tenantId"]
    assert sorted(sandbox.handle.organisation(second["tenantId"]).contacts) == first_contacts


@pytest.mark.parametrize("region", ["NZ", "AU", "UK"])
def test_regions_get_their_chart_and_tax_rates(sandbox: RunningSandbox, region: str) -> None:
    org = sandbox.organisation(region=region)
    assert len(org.accounts) >= 30
    assert len(org.tax_rates) >= 10


def test_user_edit_and_archive_of_a_contact(
    sandbox: RunningSandbox, xero_org: Organisation, xero: httpx.Client
) -> None:
    contact_id = first_contact_id(xero)
    control = sandbox.control()
    edited = control.post(
        f"/organisations/{xero_org.tenant_id}/contacts/{contact_id}", json={"FirstName": "Zed"}
    )
    assert edited.json()["FirstName"] == "Zed"
    control.post(f"/organisations/{xero_org.tenant_id}/contacts/{contact_id}/archive")
    assert xero.get(f"/Contacts/{contact_id}").json()["Contacts"][0]["ContactStatus"] == "ARCHIVED"


def test_user_deletes_an_item(sandbox: RunningSandbox, xero_org: Organisation, xero: httpx.Client) -> None:
    item_id = xero.get("/Items").json()["Items"][0]["ItemID"]
    assert sandbox.control().delete(f"/organisations/{xero_org.tenant_id}/items/{item_id}").status_code == 200
    assert xero.get(f"/Items/{item_id}").status_code == 404


def test_user_changes_a_tax_rate(sandbox: RunningSandbox, xero_org: Organisation, xero: httpx.Client) -> None:
    sandbox.control().post(
        f"/organisations/{xero_org.tenant_id}/tax-rates/OUTPUT2", json={"Status": "ARCHIVED"}
    )
    assert xero.get("/TaxRates/OUTPUT2").json()["TaxRates"][0]["Status"] == "ARCHIVED"


def test_user_records_payment_and_voids_invoice(
    sandbox: RunningSandbox, xero_org: Organisation, xero: httpx.Client
) -> None:
    paid = create_invoice(xero, first_contact_id(xero))
    other = create_invoice(xero, first_contact_id(xero))
    control = sandbox.control()
    control.post(
        f"/organisations/{xero_org.tenant_id}/invoices/{paid['InvoiceID']}/payments",
        json={"amount": "115.00"},
    )
    control.post(f"/organisations/{xero_org.tenant_id}/invoices/{other['InvoiceID']}/void")
    statuses = {i["InvoiceID"]: i["Status"] for i in xero.get("/Invoices").json()["Invoices"]}
    assert statuses == {paid["InvoiceID"]: "PAID", other["InvoiceID"]: "VOIDED"}


def test_ledger_records_writes_with_request_and_key(sandbox: RunningSandbox, xero: httpx.Client) -> None:
    xero.put("/Contacts", json={"Name": "Ledgered"}, headers={"Idempotency-Key": "abc"})
    (entry,) = sandbox.control().get("/ledger").json()
    assert (entry["method"], entry["idempotency_key"], entry["status"]) == ("PUT", "abc", 200)
    assert entry["request"] == {"Name": "Ledgered"}
    assert entry["changes"][0]["entity"] == "Contact"
    assert entry["at"]


def test_calls_are_counted_per_endpoint(sandbox: RunningSandbox, xero: httpx.Client) -> None:
    sandbox.control().delete("/calls")
    xero.get("/Contacts")
    xero.get("/Contacts")
    xero.get("/Items")
    calls = sandbox.control().get("/calls").json()
    assert calls == {"GET /api.xro/2.0/Contacts": 2, "GET /api.xro/2.0/Items": 1}


def test_tokens_endpoint_grants_without_browser(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    tokens = sandbox.control().post("/tokens", json={"client_id": "ledgersync-test"}).json()
    assert sandbox.api(xero_org.tenant_id, tokens["access_token"]).get("/Organisation").status_code == 200


def test_reset_empties_the_sandbox(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    sandbox.control().post("/reset")
    assert sandbox.control().get("/organisations").json() == []


def test_control_api_is_absent_when_disabled(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(control_api_enabled=False)
    assert sb.http().get("/_sandbox/organisations").status_code == 404


def test_hundred_thousand_contacts_seed_and_page_through(sandbox: RunningSandbox) -> None:
    # How fast seeding is belongs to the benchmarks; this checks that every contact is there.
    org = sandbox.organisation(contacts=100_000, items=0)
    token = sandbox.authorize([org.tenant_id])["access_token"]
    assert (
        len(
            sandbox.api(org.tenant_id, token)
            .get("/Contacts", params={"page": "1", "pageSize": "1000"})
            .json()["Contacts"]
        )
        == 1000
    )  # one page schema-checked; the walk skips it for speed
    seen: set[str] = set()
    page = 1
    while True:
        # A fresh token per page: at time_scale 60 a token lives 30 real seconds, less than a slow walk.
        token = sandbox.authorize([org.tenant_id])["access_token"]
        xero = sandbox.api(org.tenant_id, token, validate=False)
        contacts = xero.get("/Contacts", params={"page": str(page), "pageSize": "1000"}).json()["Contacts"]
        if not contacts:
            break
        seen.update(c["ContactID"] for c in contacts)
        page += 1
    assert len(seen) == 100_000
    assert page == 101
