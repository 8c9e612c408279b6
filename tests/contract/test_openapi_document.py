"""The OpenAPI document a running server publishes describes its answers: the error envelope on every 4xx,
the statuses the guards, the door and the limiters answer, how to authenticate, and bodiless 204s."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "delete", "patch"}
        and path.startswith(("/mobile/v1/", "/admin/api/", "/admin/xero/"))
    ]


async def test_every_4xx_answer_is_documented_as_the_error_envelope(document: dict[str, Any]) -> None:
    wrong = [
        f"{method} {path} {status}"
        for method, path, operation in operations(document)
        for status, response in operation["responses"].items()
        if status.startswith("4")
        and response.get("content", {}).get("application/json", {}).get("schema") != ENVELOPE
    ]
    assert wrong == []


async def test_guarded_operations_document_401_and_device_operations_429(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if (method, path) in {("POST", "/admin/api/session"), ("POST", "/mobile/v1/pair")}:
            continue
        if path.startswith(("/admin/api/", "/mobile/v1/")):
            assert "401" in operation["responses"], f"{method} {path}"
            assert operation["security"], f"{method} {path}"
        if path.startswith("/mobile/v1/"):
            assert "429" in operation["responses"], f"{method} {path}"
            header = operation["parameters"][0]
            assert header["name"] == "X-Ledgersync-Protocol"
            assert header["required"] is True


async def test_bodies_document_413_and_415_and_path_ids_404(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if "requestBody" in operation:
            assert {"413", "415"} <= set(operation["responses"]), f"{method} {path}"
        if "{" in path:
            assert "404" in operation["responses"], f"{method} {path}"


async def test_security_schemes_name_the_admin_session_and_the_device_token(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["adminSession"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["adminSession"]["description"],
    }
    assert schemes["adminSessionCookie"]["in"] == "cookie"
    assert schemes["deviceToken"]["scheme"] == "bearer"


async def test_no_content_answers_have_no_body(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status in ("204", "304"):
            if status in operation["responses"]:
                assert "content" not in operation["responses"][status], f"{method} {path} {status}"
