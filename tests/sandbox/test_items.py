"""Items: create/update/delete, unique codes, prices at 2 or 4 dp."""

from __future__ import annotations

from decimal import Decimal

import httpx

from tests.fixtures.sandbox import RunningSandbox
from tests.sandbox.support import decimal_json, send, validation_messages
from xero_sandbox.store import Organisation


def test_create_item_and_read_it_back(xero: httpx.Client) -> None:
    body = {
        "Items": [
            {
                "Code": "WIDGET",
                "Name": "Widget",
                "SalesDetails": {"UnitPrice": Decimal("12.5"), "AccountCode": "200"},
            }
        ]
    }
    item = decimal_json(send(xero, "PUT", "/Items", body))["Items"][0]
    got = decimal_json(xero.get(f"/Items/{item['ItemID']}"))["Items"][0]
    assert (got["Code"], got["SalesDetails"]["UnitPrice"]) == ("WIDGET", Decimal("12.50"))


def test_unit_prices_keep_four_decimals_with_unitdp(xero: httpx.Client) -> None:
    body = {"Code": "FINE", "Name": "Fine", "SalesDetails": {"UnitPrice": Decimal("1.2345")}}
    send(xero, "PUT", "/Items", body, params={"unitdp": "4"})
    (item,) = [i for i in xero.get("/Items", params={"unitdp": "4"}).json()["Items"] if i["Code"] == "FINE"]
    assert '"UnitPrice":1.2345' in xero.get(f"/Items/{item['ItemID']}", params={"unitdp": "4"}).text
    assert '"UnitPrice":1.23' in xero.get(f"/Items/{item['ItemID']}").text


def test_duplicate_code_is_rejected(xero: httpx.Client) -> None:
    xero.put("/Items", json={"Code": "DUP", "Name": "One"})
    assert validation_messages(xero.put("/Items", json={"Code": "DUP", "Name": "Two"})) == [
        "Item code 'DUP' already exists."
    ]


def test_post_updates_item_matched_by_code(xero: httpx.Client) -> None:
    xero.put("/Items", json={"Code": "UPD", "Name": "Before"})
    xero.post("/Items", json={"Items": [{"Code": "UPD", "Name": "After"}]})
    assert [i["Name"] for i in xero.get("/Items", params={"where": 'Code=="UPD"'}).json()["Items"]] == [
        "After"
    ]


def test_invalid_account_code_on_item_is_rejected(xero: httpx.Client) -> None:
    response = xero.put("/Items", json={"Code": "BADACC", "SalesDetails": {"AccountCode": "999"}})
    assert validation_messages(response) == ["Account code '999' is not a valid code for this document."]


def test_deleted_item_simply_vanishes(xero: httpx.Client) -> None:
    item = xero.put("/Items", json={"Code": "GONE", "Name": "Gone"}).json()["Items"][0]
    assert xero.delete(f"/Items/{item['ItemID']}").status_code == 204
    assert xero.get(f"/Items/{item['ItemID']}").status_code == 404
    assert "GONE" not in {i["Code"] for i in xero.get("/Items").json()["Items"]}


def test_an_unknown_or_archived_tax_type_on_an_item_is_rejected(
    sandbox: RunningSandbox, xero_org: Organisation, xero: httpx.Client
) -> None:
    archived = sandbox.control().post(
        f"/organisations/{xero_org.tenant_id}/tax-rates/OUTPUT2", json={"Status": "ARCHIVED"}
    )
    assert archived.status_code == 200, archived.text
    for tax_type in ("NOSUCHTAX", "OUTPUT2"):
        refused = xero.put("/Items", json={"Code": f"TAX-{tax_type}", "SalesDetails": {"TaxType": tax_type}})
        assert validation_messages(refused) == [
            f"The TaxType code '{tax_type}' does not exist or cannot be used for this type of transaction."
        ]
    assert {i["Code"] for i in xero.get("/Items").json()["Items"]} & {"TAX-NOSUCHTAX", "TAX-OUTPUT2"} == set()
