"""What Xero would refuse for its length or form is refused at the door, naming the field.

Xero's limits (xero_accounting.yaml and Xero's API docs; cited in sync_protocol/messages.py): contact
name 255 and not blank, address lines 500, city/region 255, postal code/country 50, email 255 in a form
Xero accepts, phone 50, reference 255, line description 4000. And every WatermelonDB column has one
JSON type: a `position` sent as a string is refused, naming it.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest

from mobile_api.examples import PUSH_REQUEST
from server.db.database import Database
from tests.factories import publish_entities, standard_mirror
from tests.watermelondb.test_endpoints import a_customer, an_invoice, empty, push

CUSTOMER_ID = "5b0f7c4e-8a1d-4c39-9d8e-2f6a1b3c4d5e"


def customer_push(mutation_id: str, **fields: Any) -> dict[str, Any]:
    customer = {"id": CUSTOMER_ID, "name": "Harbour Cafe", **fields}
    return {"mutations": [{"op": "upsert_customer", "mutation_id": mutation_id, "customer": customer}]}


def invoice_push(mutation_id: str, reference: str = "Job 1", description: str = "Labour") -> dict[str, Any]:
    mutation = copy.deepcopy(PUSH_REQUEST["mutations"][1])
    mutation["mutation_id"] = mutation_id
    mutation["invoice"]["reference"] = reference
    mutation["invoice"]["lines"][1]["description"] = description
    return {"mutations": [mutation]}


def refused_field(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    field: str = error["details"].get("field") or error["details"]["fields"][0]["field"]
    return field


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"address": {"line1": "x" * 100_000}}, "mutations[0].customer.address.line1"),
        ({"address": {"line2": "x" * 501}}, "mutations[0].customer.address.line2"),
        ({"address": {"city": "x" * 256}}, "mutations[0].customer.address.city"),
        ({"address": {"region": "x" * 256}}, "mutations[0].customer.address.region"),
        ({"address": {"postal_code": "9" * 51}}, "mutations[0].customer.address.postal_code"),
        ({"address": {"country": "x" * 51}}, "mutations[0].customer.address.country"),
        ({"name": "x" * 256}, "mutations[0].customer.name"),
        ({"name": "   "}, "mutations[0].customer.name"),
        ({"name": "\t\n"}, "mutations[0].customer.name"),
        ({"email": "not an email"}, "mutations[0].customer.email"),
        ({"email": "a" * 250 + "@b.example"}, "mutations[0].customer.email"),
        ({"phone": "0" * 51}, "mutations[0].customer.phone"),
        ({"account_number": "0" * 51}, "mutations[0].customer.account_number"),
        ({"tax_number": "0" * 51}, "mutations[0].customer.tax_number"),
        ({"first_name": "x" * 256}, "mutations[0].customer.first_name"),
    ],
)
async def test_a_customer_past_xeros_limits_is_refused_naming_the_field_and_nothing_is_queued(
    mobile: httpx.AsyncClient, fields: dict[str, Any], field: str
) -> None:
    response = await mobile.post("/mobile/v1/mutations", json=customer_push("m-limit", **fields))

    assert refused_field(response) == field
    assert (await mobile.get("/mobile/v1/uploads/m-limit")).status_code == 404


async def test_a_blank_name_is_refused_in_words(mobile: httpx.AsyncClient) -> None:
    response = await mobile.post("/mobile/v1/mutations", json=customer_push("m-blank", name="  "))
    assert "whitespace" in response.json()["error"]["message"]


async def test_a_customer_at_xeros_limits_is_accepted(mobile: httpx.AsyncClient) -> None:
    address = {"line1": "x" * 500, "city": "c" * 255, "postal_code": "9" * 50, "country": "NZ"}
    body = customer_push(
        "m-ok", name="n" * 255, email="accounts@harbour.example", phone="0" * 50, address=address
    )
    response = await mobile.post("/mobile/v1/mutations", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "applied"


@pytest.mark.parametrize(
    ("reference", "description", "field"),
    [
        ("r" * 256, "Labour", "mutations[0].invoice.reference"),
        ("Job 1", "d" * 4001, "mutations[0].invoice.lines[1].description"),
    ],
)
async def test_an_invoice_past_xeros_limits_is_refused_naming_the_field(
    mobile: httpx.AsyncClient, reference: str, description: str, field: str
) -> None:
    response = await mobile.post("/mobile/v1/mutations", json=invoice_push("m-inv", reference, description))
    assert refused_field(response) == field


# --- WatermelonDB ------------------------------------------------------------------------------------


async def test_a_watermelondb_address_line_past_xeros_limit_is_rejected_naming_it(
    mobile: httpx.AsyncClient,
) -> None:
    customer = {**a_customer(str(uuid.uuid4())), "address_line1": "x" * 100_000}
    response = await push(mobile, 1, {"customers": {**empty(), "created": [customer]}})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["experimentalRejectedIds"] == {"customers": [customer["id"]]}
    assert body["rejections"][0]["code"] == "invalid_input"
    assert body["rejections"][0]["field"] == "customer.address.line1"


async def test_a_watermelondb_blank_customer_name_is_rejected_naming_it(mobile: httpx.AsyncClient) -> None:
    customer = a_customer(str(uuid.uuid4()), name="   ")
    response = await push(mobile, 1, {"customers": {**empty(), "created": [customer]}})

    assert response.json()["rejections"][0]["field"] == "customer.name"


async def test_a_line_position_sent_as_a_string_is_refused_naming_the_column(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    customer_id, invoice_id = str(uuid.uuid4()), str(uuid.uuid4())
    header, lines = an_invoice(invoice_id, customer_id)
    lines[0]["position"] = "0"
    changes = {
        "customers": {**empty(), "created": [a_customer(customer_id)]},
        "invoices": {**empty(), "created": [header]},
        "invoice_lines": {**empty(), "created": lines},
    }

    response = await push(mobile, 1, changes)

    assert refused_field(response) == "invoice_lines.created[0].position"
    assert "number" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("customers", "name", 5),
        ("customers", "email", False),
        ("customers", "address_city", ["x"]),
        ("invoice_lines", "quantity", 2),
        ("invoice_lines", "position", True),
        ("invoice_lines", "position", None),
        ("payments", "amount", 10.5),
    ],
)
async def test_every_watermelondb_column_takes_only_its_type(
    mobile: httpx.AsyncClient, table: str, column: str, value: object
) -> None:
    record = {"id": "r1", "invoice_id": "i1", column: value}
    response = await push(mobile, 1, {table: {**empty(), "created": [record]}})
    assert refused_field(response) == f"{table}.created[0].{column}"
