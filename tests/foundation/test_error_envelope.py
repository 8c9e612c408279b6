"""Every error answer has one shape: {"error": {"code", "message", "details"}}, and never a 500."""

import httpx
import pytest

from server.core.crypto import new_key_text
from server.settings import Settings


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


async def test_unknown_route_gets_not_found_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/no/such/route"), 404, "not_found")


async def test_wrong_method_gets_method_not_allowed_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.put("/healthz"), 405, "method_not_allowed")


async def test_malformed_json_gets_bad_request_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/api/session", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    error = assert_envelope(response, 400, "malformed_json")
    assert "JSON" in str(error["message"])


async def test_wrongly_typed_field_is_named_in_the_error(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/api/session", json={"email": 5, "password": "x"})
    error = assert_envelope(response, 400, "invalid_input")
    assert error["details"] == {"fields": [{"field": "email", "message": "Expected `str`, got `int`"}]}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url, secret_key=new_key_text(), max_request_body_bytes=1024, log_level="WARNING"
    )


async def test_oversized_body_gets_payload_too_large_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/api/session", json={"email": "a@b.c", "password": "x" * 5000})
    assert_envelope(response, 413, "body_too_large")
