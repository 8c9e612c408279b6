"""Small builders shared by the sandbox tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import msgspec


def decimal_json(response: httpx.Response) -> Any:
    """Parse a response with exact decimals, as a money-aware client must."""
    import json

    return json.loads(response.content, parse_float=Decimal)


_encoder = msgspec.json.Encoder(decimal_format="number")


def exact(body: Any) -> bytes:
    """JSON with Decimals as exact numbers (httpx's json= cannot carry Decimal)."""
    return _encoder.encode(body)


def send(client: httpx.Client, method: str, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return client.request(method, path, content=exact(body), headers=headers, **kwargs)


def line(
    amount: str, quantity: str = "1", account: str = "200", tax: str | None = None, **extra: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Description": "Work",
        "Quantity": Decimal(quantity),
        "UnitAmount": Decimal(amount),
        "AccountCode": account,
    }
    if tax:
        item["TaxType"] = tax
    item.update(extra)
    return item


def invoice_body(
    contact_id: str, lines: list[dict[str, Any]], status: str = "AUTHORISED", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Status": status,
        "Date": "2024-03-01",
        "DueDate": "2024-03-31",
        "LineItems": lines,
    }
    body.update(extra)
    return body


def create_invoice(
    xero: httpx.Client,
    contact_id: str,
    lines: list[dict[str, Any]] | None = None,
    params: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = invoice_body(contact_id, lines or [line("100.00")], **extra)
    response = send(xero, "PUT", "/Invoices", {"Invoices": [body]}, params=params or {})
    assert response.status_code == 200, response.text
    created: dict[str, Any] = decimal_json(response)["Invoices"][0]
    return created


def first_contact_id(xero: httpx.Client) -> str:
    contact_id: str = xero.get("/Contacts").json()["Contacts"][0]["ContactID"]
    return contact_id


def validation_messages(response: httpx.Response) -> list[str]:
    body = response.json()
    return [
        error["Message"]
        for element in body.get("Elements", [])
        for error in element.get("ValidationErrors", [])
    ]
