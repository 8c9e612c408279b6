"""Hostile bodies, parameters and content types get a 4xx error envelope naming the field: never a 500.

Each case is one a fuzzer or an attacker sends in a few seconds: JSON nested past any sane depth, bytes
that are not UTF-8, integers past 64 bits, NUL characters (PostgreSQL cannot store them), lone
surrogates, numbers past a double, bodies that are not JSON. Run on both engines: SQLite stores a NUL
silently, PostgreSQL refused it with a 500.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.devices import PROTOCOL, PairedDevice
from tests.fixtures.servers import ADMIN

JSON = {"Content-Type": "application/json"}
DEEP = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"email": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1000 + b', "password": "x"}'
NOT_UTF8 = b'{"email": "\xff\xfe", "password": "x"}'


def error_of(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}
    return error


def field_of(error: dict[str, Any]) -> str | None:
    details = error["details"]
    if details.get("field"):
        return str(details["field"])
    fields = details.get("fields") or []
    return str(fields[0]["field"]) if fields else None


# --- bodies that cannot be decoded ---------------------------------------------------------------------


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, NOT_UTF8], ids=["deep-array", "deep-object", "not-utf8"])
async def test_an_undecodable_sign_in_body_is_malformed_json_not_a_500(
    client: httpx.AsyncClient, body: bytes
) -> None:
    error = error_of(await client.post("/admin/api/session", content=body, headers=JSON))
    assert error["code"] == "malformed_json"


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, NOT_UTF8], ids=["deep-array", "deep-object", "not-utf8"])
async def test_an_undecodable_pairing_body_is_malformed_json_not_a_500(
    client: httpx.AsyncClient, body: bytes
) -> None:
    error = error_of(await client.post("/mobile/v1/pair", content=body, headers={**JSON, **PROTOCOL}))
    assert error["code"] == "malformed_json"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/mobile/v1/mutations"),
        ("POST", "/mobile/v1/watermelon/push?last_pulled_at=1"),
    ],
)
@pytest.mark.parametrize("body", [DEEP, NOT_UTF8], ids=["deep", "not-utf8"])
async def test_undecodable_device_bodies_are_malformed_json(
    mobile: httpx.AsyncClient, method: str, path: str, body: bytes
) -> None:
    error = error_of(await mobile.request(method, path, content=body, headers=JSON))
    assert error["code"] in {"malformed_json", "invalid_input"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/admin/api/devices/pairing-codes"),
        ("PUT", "/admin/api/settings"),
        ("POST", "/admin/api/sync"),
        ("POST", "/admin/api/xero/tenant"),
    ],
)
@pytest.mark.parametrize("body", [DEEP, NOT_UTF8], ids=["deep", "not-utf8"])
async def test_undecodable_admin_bodies_are_malformed_json(
    admin_client: httpx.AsyncClient, method: str, path: str, body: bytes
) -> None:
    error = error_of(await admin_client.request(method, path, content=body, headers=JSON))
    assert error["code"] in {"malformed_json", "invalid_input"}


async def test_a_lone_surrogate_is_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    body = b'{"code": "\\ud800", "device_name": "x"}'
    error = error_of(await client.post("/mobile/v1/pair", content=body, headers={**JSON, **PROTOCOL}))
    assert error["code"] in {"malformed_json", "invalid_input"}
    assert field_of(error) == "code"


async def test_a_number_past_a_double_is_refused_naming_the_field(mobile: httpx.AsyncClient) -> None:
    body = b'{"mutations": [{"op": "void_invoice", "mutation_id": "m1", "invoice_id": 1e309}]}'
    error = error_of(await mobile.post("/mobile/v1/mutations", content=body, headers=JSON))
    assert field_of(error) == "mutations[0].invoice_id"


# --- integers past 64 bits ---------------------------------------------------------------------------

HUGE = str(2**64 + 1)


@pytest.mark.parametrize(
    "path",
    [
        f"/admin/api/uploads?offset={HUGE}",
        f"/admin/api/sync-runs?offset={HUGE}",
        f"/admin/api/uploads/{HUGE}",
        f"/admin/api/uploads/-{HUGE}",
    ],
)
async def test_integers_past_64_bits_in_admin_parameters_are_refused(
    admin_client: httpx.AsyncClient, path: str
) -> None:
    error = error_of(await admin_client.get(path))
    assert error["code"] == "invalid_input"
    assert field_of(error) in {"offset", "upload_id"}


async def test_retrying_an_upload_id_past_64_bits_is_refused(admin_client: httpx.AsyncClient) -> None:
    error = error_of(await admin_client.post(f"/admin/api/uploads/{HUGE}/retry"))
    assert field_of(error) == "upload_id"


async def test_a_sync_interval_past_64_bits_is_refused(admin_client: httpx.AsyncClient) -> None:
    body = b'{"sync_interval_minutes": ' + HUGE.encode() + b"}"
    error = error_of(await admin_client.put("/admin/api/settings", content=body, headers=JSON))
    assert field_of(error) == "sync_interval_minutes"


async def test_a_schema_version_past_64_bits_is_refused(mobile: httpx.AsyncClient) -> None:
    error = error_of(await mobile.get(f"/mobile/v1/watermelon/pull?schema_version={HUGE}"))
    assert field_of(error) == "schema_version"


# --- NUL characters ----------------------------------------------------------------------------------


async def test_a_nul_in_the_sign_in_email_is_refused_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/api/session", json={"email": "a\u0000@b.example", "password": "x"})
    error = error_of(response)
    assert error["code"] == "invalid_input"
    assert field_of(error) == "email"


async def test_a_nul_in_a_pairing_code_is_refused_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.post("/mobile/v1/pair", json={"code": "AB\u0000CD"}, headers=PROTOCOL)
    assert field_of(error_of(response)) == "code"


async def test_a_nul_in_a_staff_name_is_refused_naming_it(admin_client: httpx.AsyncClient) -> None:
    response = await admin_client.post("/admin/api/devices/pairing-codes", json={"staff_name": "Sam\u0000"})
    assert field_of(error_of(response)) == "staff_name"


async def test_a_nul_in_a_settings_account_code_is_refused_naming_it(admin_client: httpx.AsyncClient) -> None:
    response = await admin_client.put("/admin/api/settings", json={"bank_account_code": "09\u00000"})
    assert field_of(error_of(response)) == "bank_account_code"


async def test_a_nul_in_a_customer_name_is_refused_and_nothing_is_stored(
    mobile: httpx.AsyncClient, device: PairedDevice
) -> None:
    customer = {"id": "5b0f7c4e-8a1d-4c39-9d8e-2f6a1b3c4d5e", "name": "Harbour\u0000Cafe"}
    body = {"mutations": [{"op": "upsert_customer", "mutation_id": "m-nul", "customer": customer}]}
    error = error_of(await mobile.post("/mobile/v1/mutations", json=body))
    assert field_of(error) == "mutations[0].customer.name"
    assert (await mobile.get("/mobile/v1/uploads/m-nul")).status_code == 404


async def test_a_nul_in_a_mutation_id_path_is_refused(mobile: httpx.AsyncClient) -> None:
    error = error_of(await mobile.get("/mobile/v1/uploads/m%00x"))
    assert field_of(error) == "mutation_id"


async def test_a_nul_in_a_watermelondb_record_is_refused_naming_the_column(mobile: httpx.AsyncClient) -> None:
    customer = {"id": "c1", "name": "Cafe\u0000"}
    changes = {"customers": {"created": [customer], "updated": [], "deleted": []}}
    response = await mobile.post("/mobile/v1/watermelon/push?last_pulled_at=1", json=changes)
    assert field_of(error_of(response)) == "customers.created[0].name"


async def test_a_nul_in_a_watermelondb_table_name_is_refused(mobile: httpx.AsyncClient) -> None:
    changes = {"cust\u0000omers": {"created": [], "updated": [], "deleted": []}}
    response = await mobile.post("/mobile/v1/watermelon/push?last_pulled_at=1", json=changes)
    assert error_of(response)["code"] == "invalid_input"


async def test_a_nul_in_a_sync_type_is_refused(admin_client: httpx.AsyncClient) -> None:
    response = await admin_client.post("/admin/api/sync", json={"types": ["contacts\u0000"]})
    assert field_of(error_of(response)) == "types[0]"


# --- content types -----------------------------------------------------------------------------------


async def test_a_text_plain_push_is_unsupported_media_type(mobile: httpx.AsyncClient) -> None:
    body = b'{"mutations": [{"op": "void_invoice", "mutation_id": "m1", "invoice_id": "x"}]}'
    response = await mobile.post("/mobile/v1/mutations", content=body, headers={"Content-Type": "text/plain"})
    assert error_of(response, 415)["code"] == "unsupported_media_type"


async def test_a_text_plain_pairing_is_unsupported_media_type(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/mobile/v1/pair",
        content=b'{"code": "AAAAA-BBBBB"}',
        headers={"Content-Type": "text/plain", **PROTOCOL},
    )
    assert error_of(response, 415)["code"] == "unsupported_media_type"


async def test_a_form_encoded_pairing_code_request_is_unsupported_media_type(
    admin_client: httpx.AsyncClient,
) -> None:
    response = await admin_client.post("/admin/api/devices/pairing-codes", data={"staff_name": "Sam"})
    assert error_of(response, 415)["code"] == "unsupported_media_type"


async def test_a_watermelondb_push_without_content_type_is_unsupported(mobile: httpx.AsyncClient) -> None:
    changes = b'{"customers": {"created": [], "updated": [], "deleted": []}}'
    response = await mobile.post("/mobile/v1/watermelon/push?last_pulled_at=1", content=changes)
    assert error_of(response, 415)["code"] == "unsupported_media_type"


async def test_sync_now_without_a_body_needs_no_content_type(admin_client: httpx.AsyncClient) -> None:
    response = await admin_client.post("/admin/api/sync")
    assert response.status_code != 415, response.text


# --- caller-supplied secrets -------------------------------------------------------------------------


async def test_a_callback_with_any_string_as_state_is_a_4xx(client: httpx.AsyncClient) -> None:
    error = error_of(await client.get("/admin/xero/callback", params={"state": "nope", "code": "c"}))
    assert error["code"] == "oauth_state_invalid"


async def test_an_admin_email_with_a_nul_appended_is_refused_by_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/api/session", json={"email": ADMIN.email + "\u0000", "password": "x"}
    )
    assert field_of(error_of(response)) == "email"
