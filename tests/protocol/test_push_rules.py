"""Validation at the door and idempotency, exercised on the push service directly (no HTTP)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from server.core.principals import DevicePrincipal
from server.core.push import PushService
from server.db.database import Database
from server.kinds import KINDS
from server.services.devices import DeviceService
from sync_protocol.messages import MutationResult, PushRequest
from tests.factories import customer, documented_push, make_organisation, publish_entities, standard_mirror

EXAMPLE = documented_push()
INVOICE = EXAMPLE[1]
NEW_CUSTOMER_ID = EXAMPLE[0]["customer"]["id"]


@pytest.fixture
async def device(database: Database) -> DevicePrincipal:
    org = await make_organisation(database)
    await publish_entities(database, org, standard_mirror())
    devices = DeviceService(database)
    issued = await devices.issue_pairing_code(org, "Sam")
    return (await devices.pair(issued.code, "test")).principal


async def push(
    database: Database, device: DevicePrincipal, *mutations: dict[str, Any]
) -> list[MutationResult]:
    request = msgspec.convert({"mutations": list(mutations)}, PushRequest)
    return (await PushService(database, KINDS).push(device, request)).results


def invoice(mutation_id: str = "inv-1", **changes: Any) -> dict[str, Any]:
    body = {**INVOICE["invoice"], "customer_id": customer(1).id, **changes}
    return {"op": "upsert_invoice", "mutation_id": mutation_id, "invoice": body}


def payment(
    amount: str, mutation_id: str = "pay-1", invoice_id: str = INVOICE["invoice"]["id"]
) -> dict[str, Any]:
    return {
        "op": "create_payment",
        "mutation_id": mutation_id,
        "payment": {
            "id": str(uuid.uuid4()),
            "invoice_id": invoice_id,
            "account_code": "090",
            "date": "2026-11-20",
            "amount": amount,
        },
    }


def line(n: int, **changes: Any) -> dict[str, Any]:
    return {**INVOICE["invoice"]["lines"][n], **changes}


async def test_the_documented_push_example_applies_its_customer_and_invoice_and_refuses_its_overpayment(
    database: Database, device: DevicePrincipal
) -> None:
    results = await push(database, device, *EXAMPLE)
    assert [r.status for r in results] == ["applied", "applied", "rejected"]
    assert results[2].code == "payment_exceeds_amount_due"


async def test_a_replayed_mutation_returns_the_original_result(
    database: Database, device: DevicePrincipal
) -> None:
    [first] = await push(database, device, invoice())
    [again] = await push(database, device, invoice())
    assert again == msgspec.structs.replace(first, replayed=True)


async def test_a_mutation_id_reused_for_other_content_is_rejected(
    database: Database, device: DevicePrincipal
) -> None:
    await push(database, device, invoice())
    [result] = await push(database, device, invoice(reference="changed"))
    assert (result.status, result.code, result.field) == ("rejected", "mutation_id_reused", "mutation_id")


async def test_a_line_amount_mismatch_is_rejected_showing_both_values(
    database: Database, device: DevicePrincipal
) -> None:
    [result] = await push(database, device, invoice(lines=[line(0, line_amount="99.91"), line(1)]))
    assert (result.code, result.field) == ("totals_mismatch", "invoice.lines[0].line_amount")
    assert result.details == {"expected": "99.90", "got": "99.91"}
    assert "99.91" in result.message
    assert "99.90" in result.message


async def test_a_total_mismatch_is_rejected(database: Database, device: DevicePrincipal) -> None:
    [result] = await push(database, device, invoice(total="239.10"))
    assert (result.code, result.field, result.details["expected"]) == (
        "totals_mismatch",
        "invoice.total",
        "239.09",
    )


async def test_an_unknown_product_is_rejected(database: Database, device: DevicePrincipal) -> None:
    [result] = await push(database, device, invoice(lines=[line(0, product_id="nope"), line(1)]))
    assert (result.code, result.field) == ("unknown_product", "invoice.lines[0].product_id")


async def test_an_unknown_tax_type_is_rejected(database: Database, device: DevicePrincipal) -> None:
    [result] = await push(database, device, invoice(lines=[line(0), line(1, tax_type="OUTPUT9")]))
    assert (result.code, result.field) == ("unknown_tax_type", "invoice.lines[1].tax_type")


async def test_an_unknown_account_is_rejected(database: Database, device: DevicePrincipal) -> None:
    [result] = await push(database, device, invoice(lines=[line(0), line(1, account_code="999")]))
    assert (result.code, result.field) == ("unknown_account", "invoice.lines[1].account_code")


async def test_an_invoice_for_an_unknown_customer_is_rejected(
    database: Database, device: DevicePrincipal
) -> None:
    [result] = await push(database, device, invoice(customer_id=str(uuid.uuid4())))
    assert (result.code, result.field) == ("unknown_customer", "invoice.customer_id")


async def test_mutations_depending_on_a_rejected_one_say_so(
    database: Database, device: DevicePrincipal
) -> None:
    bad_customer = {
        "op": "upsert_customer",
        "mutation_id": "c-1",
        "customer": {"id": NEW_CUSTOMER_ID.upper(), "name": "Not a lowercase UUID"},
    }
    results = await push(
        database,
        device,
        bad_customer,
        invoice(customer_id=NEW_CUSTOMER_ID.upper()),
        payment("10.00"),
    )
    assert [(r.status, r.code) for r in results] == [
        ("rejected", "invalid_value"),
        ("rejected", "dependency_rejected"),
        ("rejected", "dependency_rejected"),
    ]


async def test_a_payment_may_not_exceed_the_amount_due(database: Database, device: DevicePrincipal) -> None:
    results = await push(database, device, invoice(), payment("200.00"), payment("39.10", "pay-2"))
    assert [r.status for r in results] == ["applied", "applied", "rejected"]
    assert (results[2].code, results[2].details["amount_due"]) == ("payment_exceeds_amount_due", "39.09")


async def test_an_invoice_with_payments_cannot_be_voided(database: Database, device: DevicePrincipal) -> None:
    void = {"op": "void_invoice", "mutation_id": "void-1", "invoice_id": INVOICE["invoice"]["id"]}
    results = await push(database, device, invoice(), payment("1.00"), void)
    assert results[2].code == "invoice_has_payments"


async def test_an_unpaid_invoice_can_be_voided_once(database: Database, device: DevicePrincipal) -> None:
    void = {"op": "void_invoice", "mutation_id": "void-1", "invoice_id": INVOICE["invoice"]["id"]}
    results = await push(database, device, invoice(), void, {**void, "mutation_id": "void-2"})
    assert [(r.status, r.code) for r in results] == [
        ("applied", None),
        ("applied", None),
        ("rejected", "already_voided"),
    ]


async def test_a_deleted_payment_restores_the_amount_due(database: Database, device: DevicePrincipal) -> None:
    pay = payment("239.09")
    delete = {"op": "delete_payment", "mutation_id": "del-1", "payment_id": pay["payment"]["id"]}
    results = await push(database, device, invoice(), pay, delete, payment("239.09", "pay-3"))
    assert [r.status for r in results] == ["applied"] * 4


async def test_an_edit_of_a_mirror_customer_keeps_its_xero_id(
    database: Database, device: DevicePrincipal
) -> None:
    edit = {
        "op": "upsert_customer",
        "mutation_id": "e-1",
        "customer": {"id": customer(1).id, "name": "New name"},
    }
    [result] = await push(database, device, edit)
    assert result.status == "applied"
