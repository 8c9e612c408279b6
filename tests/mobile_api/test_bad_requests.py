"""Malformed, oversized and wrongly typed requests get 4xx error envelopes naming the field."""

from __future__ import annotations

import uuid

import httpx
import msgspec
import pytest

from mobile_api.examples import PUSH_REQUEST
from server.settings import Settings
from tests.fixtures.devices import PROTOCOL, PairedDevice


@pytest.fixture
def settings(database_url: str) -> Settings:
    from server.core.crypto import new_key_text

    return Settings(
        database_url=database_url,
        secret_key=new_key_text(),
        log_level="WARNING",
        max_request_body_bytes=64 * 1024,
        device_requests_per_minute=40,
    )


def payment_with_amount(amount: object) -> dict[str, object]:
    mutation = msgspec.json.decode(msgspec.json.encode(PUSH_REQUEST["mutations"][2]))
    mutation["payment"]["amount"] = amount
    return {"mutations": [mutation]}


async def test_a_json_number_for_an_amount_is_refused_naming_the_field(mobile: httpx.AsyncClient) -> None:
    response = await mobile.post("/mobile/v1/mutations", json=payment_with_amount(100.0))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "mutations[0].payment.amount" in {
        error["details"].get("field"),
        *[f["field"] for f in error["details"].get("fields", [])],
    }


async def test_an_amount_with_too_many_places_is_refused_naming_the_field(mobile: httpx.AsyncClient) -> None:
    response = await mobile.post("/mobile/v1/mutations", json=payment_with_amount("10.005"))
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"][0]["field"] == "mutations[0].payment.amount"


async def test_malformed_json_is_refused(mobile: httpx.AsyncClient) -> None:
    response = await mobile.post(
        "/mobile/v1/mutations", content=b'{"mutations": [', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


async def test_an_unknown_mutation_op_is_refused(mobile: httpx.AsyncClient) -> None:
    response = await mobile.post(
        "/mobile/v1/mutations", json={"mutations": [{"op": "drop_tables", "mutation_id": "x"}]}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


async def test_too_many_mutations_in_one_push_are_refused(mobile: httpx.AsyncClient) -> None:
    void = {"op": "void_invoice", "invoice_id": str(uuid.uuid4())}
    many = {"mutations": [{**void, "mutation_id": str(n)} for n in range(501)]}
    response = await mobile.post("/mobile/v1/mutations", json=many)
    assert response.status_code == 400
    assert "mutations" in response.text


async def test_an_oversized_body_is_refused(mobile: httpx.AsyncClient) -> None:
    response = await mobile.post(
        "/mobile/v1/mutations", content=b" " * (65 * 1024), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


async def test_a_push_without_the_protocol_header_is_refused(
    mobile: httpx.AsyncClient, device: PairedDevice
) -> None:
    response = await mobile.post(
        "/mobile/v1/mutations",
        json=PUSH_REQUEST,
        headers={"X-Ledgersync-Protocol": ""},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_protocol_version"


async def test_a_device_over_its_rate_gets_429_with_retry_after(
    client: httpx.AsyncClient, device: PairedDevice
) -> None:
    statuses = [(await client.get("/mobile/v1/changes", headers=device.headers)) for _ in range(12)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert limited[0].json()["error"]["code"] == "rate_limited"
    assert int(limited[0].headers["retry-after"]) >= 1


async def test_a_pairing_body_with_a_wrong_type_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/mobile/v1/pair", json={"code": 12345}, headers=PROTOCOL)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"][0]["field"] == "code"
