"""Products created and edited on phones (``upsert_product``) reach Xero as items, exactly once,
before the invoices that use them.

The sandbox here forgets Idempotency-Keys at once (as Xero does once its window has passed), so a
lost answer to an item create is saved only by ledgersync finding the item again by its code.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime

import msgspec
import pytest

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import Product
from sync_protocol.messages import MutationResult, ProductDraft, UpsertProduct
from tests.fixtures.sandbox import RunningSandbox, sandbox_config, start_sandbox
from tests.fixtures.xero_spec import XeroSpec
from tests.forwarding.conftest import SALES, Forwarding, settle
from xero_sandbox.faults import FaultSpec


@pytest.fixture
def xero_sandbox(xero_spec: XeroSpec) -> Iterator[RunningSandbox]:
    config = sandbox_config(auto_consent=True, idempotency_window_seconds=1)
    with ExitStack() as stack:
        yield start_sandbox(stack, config, xero_spec)


def _new_id() -> str:
    return str(uuid.uuid4())


def create_product(phone: Phone, code: str, product_id: str | None = None, **fields: object) -> str:
    product_id = product_id or _new_id()
    values: dict[str, object] = {
        "name": f"Product {code}",
        "unit_price": "12.3450",
        "account_code": SALES,
        "tax_type": "OUTPUT2",
        **fields,
    }
    draft = msgspec.convert({"id": product_id, "code": code, **values}, ProductDraft)
    phone.queue(UpsertProduct(mutation_id=_new_id(), product=draft))
    return product_id


def items_with_code(forwarding: Forwarding, code: str) -> list[dict[str, object]]:
    return [item for item in forwarding.xero_org.items.values() if item["Code"] == code]


def phone_product(phone: Phone, product_id: str) -> Product:
    payload = phone.store.record("product", product_id)
    assert payload is not None, "the phone has no such product"
    return msgspec.json.decode(payload, type=Product)


async def _upload(phone: Phone) -> list[MutationResult]:
    return await phone.upload()


async def test_a_product_made_offline_reaches_xero_once_before_the_invoice_on_its_line(
    forwarding: Forwarding, phone: Phone
) -> None:
    customer = phone.create_customer("Product Buyer")
    product = create_product(phone, "WIDGET-9", description="A blue widget", is_purchased=False)
    invoice = phone.create_invoice(
        customer, [Line("2", "12.3450", product_id=product, tax_type="OUTPUT2", account_code=SALES)]
    )
    results = await _upload(phone)
    assert [r.status for r in results] == ["applied"] * 3

    counts = await settle(forwarding.admin)

    assert counts["done"] == 3
    [item] = items_with_code(forwarding, "WIDGET-9")
    assert item["Name"] == "Product WIDGET-9"
    assert item["Description"] == "A blue widget"
    assert item["IsPurchased"] is False
    sales = item["SalesDetails"]
    assert isinstance(sales, dict)
    assert (str(sales["UnitPrice"]), sales["AccountCode"], sales["TaxType"]) == ("12.3450", SALES, "OUTPUT2")
    [xero_invoice] = forwarding.xero_invoices_for(invoice)
    assert [line.get("ItemCode") for line in xero_invoice["LineItems"]] == ["WIDGET-9"]
    # The item went before the invoice that uses it.
    paths = [entry.path.rsplit("/", 1)[-1] for entry in forwarding.writes() if entry.method == "PUT"]
    assert paths.index("Items") < paths.index("Invoices")

    await phone.refresh()
    mine = phone_product(phone, product)
    assert mine.xero_id == item["ItemID"]
    assert mine.code == "WIDGET-9"
    assert mine.sync is not None
    assert mine.sync.state == "in_xero"
    assert len([p for p in phone.store.records("product").values() if b"WIDGET-9" in p]) == 1


async def test_a_lost_answer_to_an_item_create_leaves_one_item_in_xero(
    forwarding: Forwarding, phone: Phone
) -> None:
    customer = phone.create_customer("Lost Answer Buyer")
    product = create_product(phone, "LOST-1")
    invoice = phone.create_invoice(
        customer, [Line("1", "5.00", product_id=product, tax_type="OUTPUT2", account_code=SALES)]
    )
    drop = forwarding.sandbox.handle.add_fault(
        FaultSpec(kind="drop", route="PUT /api.xro/2.0/Items*", count=1)
    )
    assert {r.status for r in await _upload(phone)} == {"applied"}

    counts = await settle(forwarding.admin)

    assert drop.exhausted
    assert counts["done"] == 3
    [item] = items_with_code(forwarding, "LOST-1")
    [xero_invoice] = forwarding.xero_invoices_for(invoice)
    assert [line.get("ItemCode") for line in xero_invoice["LineItems"]] == ["LOST-1"]
    uploads = (await forwarding.admin.get("/admin/api/uploads", params={"state": "done"})).json()["uploads"]
    [upload] = [u for u in uploads if u["entity"] == "product"]
    assert (upload["record_id"], upload["xero_id"]) == (product, item["ItemID"])
    await phone.refresh()
    assert phone_product(phone, product).xero_id == item["ItemID"]


async def test_a_code_another_product_has_is_rejected_naming_the_code(
    forwarding: Forwarding, phone: Phone
) -> None:
    create_product(phone, "TWIN-1")
    create_product(phone, "twin-1")  # Xero's item codes are unique ignoring case
    create_product(phone, "ITEM-0001")  # a product the mirror has from Xero
    results = await _upload(phone)

    assert results[0].status == "applied"
    for result in results[1:]:
        assert (result.status, result.code, result.field) == ("rejected", "code_taken", "product.code")
    await settle(forwarding.admin)
    assert len(items_with_code(forwarding, "TWIN-1")) == 1
    assert items_with_code(forwarding, "twin-1") == []


async def test_an_unknown_tax_type_or_account_is_rejected_naming_the_field(
    forwarding: Forwarding, phone: Phone
) -> None:
    create_product(phone, "BAD-TAX", tax_type="NOSUCHTAX")
    create_product(phone, "BAD-ACCOUNT", account_code="999999")
    results = await _upload(phone)

    assert [(r.status, r.code, r.field) for r in results] == [
        ("rejected", "unknown_tax_type", "product.tax_type"),
        ("rejected", "unknown_account", "product.account_code"),
    ]
    assert "NOSUCHTAX" in results[0].message


async def test_xeros_refusal_of_an_item_reaches_the_phone_naming_the_field(
    forwarding: Forwarding, phone: Phone
) -> None:
    # Someone makes an item with the code in Xero after the mirror's last pull: the push cannot
    # know, Xero refuses the create.
    forwarding.xero_org.items["b6f2c3a0-0000-4000-8000-000000000001"] = {
        "ItemID": "b6f2c3a0-0000-4000-8000-000000000001",
        "Code": "RACE-1",
        "Name": "Made in Xero",
        "Description": "",
        "IsSold": True,
        "IsPurchased": True,
        "IsTrackedAsInventory": False,
        "_updated": datetime.now(UTC),
    }
    product = create_product(phone, "RACE-1")
    assert [r.status for r in await _upload(phone)] == ["applied"]

    counts = await settle(forwarding.admin)

    assert counts["failed"] == 1
    assert len(items_with_code(forwarding, "RACE-1")) == 1
    uploads = (await forwarding.admin.get("/admin/api/uploads", params={"state": "failed"})).json()["uploads"]
    [upload] = [u for u in uploads if u["entity"] == "product"]
    assert "Item code 'RACE-1' already exists" in upload["last_error"]
    assert upload["error_field"] == "product.code"
    await phone.refresh()
    sync = phone_product(phone, product).sync
    assert sync is not None
    assert (sync.state, sync.field) == ("failed", "product.code")
    assert "already exists" in sync.message


async def test_a_tax_type_archived_in_xero_after_the_mirrors_pull_fails_with_xeros_message_naming_it(
    forwarding: Forwarding, phone: Phone
) -> None:
    # The mirror still has OUTPUT2 active, so the door lets the product in; Xero refuses the item.
    archived = forwarding.sandbox.control().post(
        f"/organisations/{forwarding.xero_org.tenant_id}/tax-rates/OUTPUT2", json={"Status": "ARCHIVED"}
    )
    assert archived.status_code == 200, archived.text
    product = create_product(phone, "STALE-TAX")
    assert [r.status for r in await _upload(phone)] == ["applied"]

    counts = await settle(forwarding.admin)

    assert counts["failed"] == 1
    assert items_with_code(forwarding, "STALE-TAX") == []
    await phone.refresh()
    sync = phone_product(phone, product).sync
    assert sync is not None
    assert (sync.state, sync.field) == ("failed", "product.tax_type")
    assert sync.message == (
        "The TaxType code 'OUTPUT2' does not exist or cannot be used for this type of transaction."
    )


async def test_product_edits_go_to_xero_only_when_the_organisation_sends_them(
    forwarding: Forwarding, phone: Phone
) -> None:
    product = create_product(phone, "EDIT-1")
    await _upload(phone)
    await settle(forwarding.admin)
    await phone.refresh()

    assert (await forwarding.set(update_products=False)).status_code == 200
    create_product(phone, "EDIT-1", product, name="Renamed on the phone")
    assert [r.status for r in await _upload(phone)] == ["applied"]
    counts = await settle(forwarding.admin)
    assert counts["held"] == 1
    [item] = items_with_code(forwarding, "EDIT-1")
    assert item["Name"] == "Product EDIT-1"

    assert (await forwarding.set(update_products=True)).status_code == 200
    create_product(phone, "EDIT-2", product, name="Renamed again", unit_price="7.5")
    assert [r.status for r in await _upload(phone)] == ["applied"]
    await settle(forwarding.admin)
    [item] = items_with_code(forwarding, "EDIT-2")
    assert item["Name"] == "Renamed again"
    assert items_with_code(forwarding, "EDIT-1") == []
    await phone.refresh()
    mine = phone_product(phone, product)
    assert (mine.code, mine.name, mine.xero_id) == ("EDIT-2", "Renamed again", item["ItemID"])
