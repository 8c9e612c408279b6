"""A refusal does not outlive its cause: a WatermelonDB re-push of a rejected record is judged again
against today's tax rates, accounts and settings, while a replay of an applied one stays a replay."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.xero_connect import sync_and_wait
from tests.forwarding.conftest import OTHER_BANK, SALES, Forwarding, settle
from tests.watermelondb.test_endpoints import empty, new_id, pull, push


def invoice_rows(invoice_id: str, customer_id: str) -> dict[str, Any]:
    header = {
        "id": invoice_id,
        "customer_id": customer_id,
        "reference": "Job 9",
        "date": "2026-11-20",
        "due_date": None,
        "line_amount_type": "Exclusive",
        "sub_total": "100.00",
        "total_tax": "15.00",
        "total": "115.00",
        "_status": "created",
        "_changed": "",
    }
    line = {
        "id": f"line{invoice_id[:8]}",
        "invoice_id": invoice_id,
        "position": 0,
        "description": "Call-out",
        "product_id": None,
        "quantity": "1",
        "unit_amount": "100.00",
        "discount_rate": None,
        "account_code": SALES,
        "tax_type": "OUTPUT2",
        "line_amount": "100.00",
        "tax_amount": "15.00",
    }
    return {"invoices": {**empty(), "created": [header]}, "invoice_lines": {**empty(), "created": [line]}}


def xero_user_sets_tax_rate(forwarding: Forwarding, status: str) -> None:
    tenant = forwarding.xero_org.tenant_id
    response = forwarding.sandbox.control().post(
        f"/organisations/{tenant}/tax-rates/OUTPUT2", json={"Status": status}
    )
    assert response.status_code == 200, response.text


async def sync(mobile: httpx.AsyncClient, changes: dict[str, Any]) -> dict[str, Any]:
    """One WatermelonDB sync: pull, then push."""
    pulled = await pull(mobile)
    response = await push(mobile, pulled["timestamp"], changes)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_invoice_refused_for_an_archived_tax_rate_goes_once_the_rate_is_active_again(
    forwarding: Forwarding, mobile: httpx.AsyncClient
) -> None:
    customer_id = (await pull(mobile))["changes"]["customers"]["created"][0]["id"]
    xero_user_sets_tax_rate(forwarding, "ARCHIVED")
    await sync_and_wait(forwarding.admin)
    invoice_id = new_id()
    changes = invoice_rows(invoice_id, customer_id)
    refused = await sync(mobile, changes)
    assert [r["code"] for r in refused["rejections"]] == ["unknown_tax_type"]
    assert [r["code"] for r in (await sync(mobile, changes))["rejections"]] == ["unknown_tax_type"]

    xero_user_sets_tax_rate(forwarding, "ACTIVE")
    await sync_and_wait(forwarding.admin)
    again = await sync(mobile, changes)
    await settle(forwarding.admin)

    assert again == {"experimentalRejectedIds": {}, "rejections": []}
    assert forwarding.xero_invoice_for(invoice_id)["Total"] == 115
    rows = (await pull(mobile))["changes"]["invoices"]["updated"]  # its own record: updated
    assert [(r["id"], r["sync_state"]) for r in rows] == [(invoice_id, "in_xero")]


async def test_a_payment_refused_for_want_of_a_bank_account_goes_once_the_admin_chose_one(
    forwarding: Forwarding, mobile: httpx.AsyncClient
) -> None:
    customer_id = (await pull(mobile))["changes"]["customers"]["created"][0]["id"]
    invoice_id = new_id()
    assert (await sync(mobile, invoice_rows(invoice_id, customer_id)))["rejections"] == []
    await settle(forwarding.admin)
    await forwarding.set(bank_account_code=None)
    payment_id = new_id()
    payment = {"id": payment_id, "invoice_id": invoice_id, "date": "2026-11-21", "amount": "115.00"}
    changes = {"payments": {**empty(), "created": [payment]}}
    assert [r["code"] for r in (await sync(mobile, changes))["rejections"]] == ["no_bank_account"]
    assert [r["code"] for r in (await sync(mobile, changes))["rejections"]] == ["no_bank_account"]

    await forwarding.set(bank_account_code=OTHER_BANK)
    again = await sync(mobile, changes)
    await settle(forwarding.admin)

    assert again == {"experimentalRejectedIds": {}, "rejections": []}
    [paid] = forwarding.xero_org.payments.values()
    assert forwarding.account_code(paid["Account"]["AccountID"]) == OTHER_BANK
    replayed = await sync(mobile, changes)  # pushed again (a lost answer): still one payment
    await settle(forwarding.admin)
    assert replayed == {"experimentalRejectedIds": {}, "rejections": []}
    assert len(forwarding.xero_org.payments) == 1
