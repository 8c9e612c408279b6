"""Every operation the sandbox serves is one of Xero's, so every exchange in these tests is spec-checked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_spec import XeroSpec
from tests.sandbox.support import create_invoice, send
from xero_sandbox.accounting import PREFIX, ROUTES
from xero_sandbox.store import Organisation


def test_every_accounting_route_is_a_spec_operation(xero_spec: XeroSpec) -> None:
    for route in ROUTES:
        concrete = PREFIX + route.path.replace(":str}", "}").replace("{", "").replace("}", "")
        operation = xero_spec.find(route.method, concrete)
        assert operation is not None, f"{route.method} {route.path} has no operation in Xero's spec"
        assert operation.operation_id == route.operation_id


def test_identity_connection_routes_are_spec_operations(xero_spec: XeroSpec) -> None:
    get = xero_spec.find("GET", "/connections")
    delete = xero_spec.find("DELETE", "/connections/00000000-0000-0000-0000-000000000000")
    assert get is not None
    assert delete is not None
    assert (get.operation_id, delete.operation_id) == ("getConnections", "deleteConnection")


def test_every_route_is_exercised_through_the_validator(
    sandbox: RunningSandbox,
    xero_org: Organisation,
    xero: httpx.Client,
    xero_tokens: dict[str, Any],
    xero_spec: XeroSpec,
) -> None:
    """One call per route through a validating client: each must be found in the spec and checked."""
    xero_spec.seen.clear()
    contact = xero.put("/Contacts", json={"Name": "Coverage"}).json()["Contacts"][0]
    xero.post("/Contacts", json={"Contacts": [{"ContactID": contact["ContactID"], "FirstName": "C"}]})
    xero.post(f"/Contacts/{contact['ContactID']}", json={"LastName": "D"})
    xero.get(f"/Contacts/{contact['ContactID']}")
    item = xero.put("/Items", json={"Code": "COV", "Name": "Coverage"}).json()["Items"][0]
    xero.post("/Items", json={"Code": "COV", "Name": "Coverage 2"})
    xero.post(f"/Items/{item['ItemID']}", json={"Name": "Coverage 3"})
    xero.get(f"/Items/{item['ItemID']}")
    invoice = create_invoice(xero, contact["ContactID"])
    send(xero, "POST", "/Invoices", {"Invoices": [{"InvoiceID": invoice["InvoiceID"], "Reference": "r"}]})
    xero.post(f"/Invoices/{invoice['InvoiceID']}", json={"Reference": "s"})
    xero.get(f"/Invoices/{invoice['InvoiceID']}")
    xero.get(f"/Invoices/{invoice['InvoiceID']}/OnlineInvoice")
    xero.post(f"/Invoices/{invoice['InvoiceID']}/Email", json={})
    payment_body = {
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "Account": {"Code": "090"},
        "Amount": Decimal("1.00"),
    }
    send(xero, "PUT", "/Payments", {"Payments": [payment_body]})
    payment = send(xero, "POST", "/Payments", payment_body).json()["Payments"][0]
    xero.get(f"/Payments/{payment['PaymentID']}")
    xero.post(f"/Payments/{payment['PaymentID']}", json={"Status": "DELETED"})
    account = xero.get("/Accounts").json()["Accounts"][0]
    xero.get(f"/Accounts/{account['AccountID']}")
    xero.get("/TaxRates/OUTPUT2")
    category = sandbox.control().post(
        f"/organisations/{xero_org.tenant_id}/tracking-categories", json={"Name": "Region", "Options": ["N"]}
    )
    xero.get(f"/TrackingCategories/{category.json()['TrackingCategoryID']}")
    theme = xero.get("/BrandingThemes").json()["BrandingThemes"][0]
    xero.get(f"/BrandingThemes/{theme['BrandingThemeID']}")
    for path in (
        "/Organisation",
        "/TaxRates",
        "/Contacts",
        "/Items",
        "/Invoices",
        "/Payments",
        "/TrackingCategories",
    ):
        xero.get(path)
    xero.delete(f"/Items/{item['ItemID']}")
    http = sandbox.http(headers={"Authorization": f"Bearer {xero_tokens['access_token']}"})
    (connection,) = http.get("/connections").json()
    http.delete(f"/connections/{connection['id']}")

    served = {route.operation_id for route in ROUTES} | {"getConnections", "deleteConnection"}
    assert served - xero_spec.seen == set()


async def test_async_clients_can_plug_in_the_validator(
    sandbox: RunningSandbox, xero_org: Organisation, xero_tokens: dict[str, Any]
) -> None:
    headers = {
        "Authorization": f"Bearer {xero_tokens['access_token']}",
        "Xero-tenant-id": xero_org.tenant_id,
        "Accept": "application/json",
    }
    async with httpx.AsyncClient(
        base_url=sandbox.ledgersync_settings()["xero_api_url"],
        headers=headers,
        event_hooks=sandbox.event_hooks(asynchronous=True),
    ) as client:
        assert (await client.get("/api.xro/2.0/Contacts")).status_code == 200
    assert "getContacts" in sandbox.spec.seen
