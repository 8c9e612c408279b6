"""A product created or edited on a phone (``upsert_product``): an item in Xero.

Push: a new product needs a fresh lowercase UUID; its code must be unique among the
organisation's items (Xero refuses a second item with a code, ignoring case), its sales account
and tax type known to the mirror. An invoice in the same or a later push names it by its id.
Forward: an item create before the invoices that use it (``KINDS`` order; an invoice waits until
its products are in Xero, and its lines then carry the item's ``ItemCode``). Xero's item codes
are unique, so a create whose answer was lost is found again by its code. An edit goes to Xero
as the whole item when the organisation sends product edits (``update_products``), else it is
kept on the server. WatermelonDB: one ``products`` row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from server.core.fate import Fate, Held, InXero
from server.core.push import Staging
from server.core.rejections import Rejected
from server.db.sync_models import Upload
from server.kinds.base import (
    UNIT_DP_4,
    Job,
    Operation,
    Plan,
    PlanContext,
    Send,
    Unit,
    WatermelonPush,
    XeroReads,
    kept_by_setting,
)
from server.kinds.rows import Unusable, convert, decimal_text, optional, same, sync_columns, text
from server.xero import wire
from sync_protocol.entities import Entity, Product
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import ProductDraft, UpsertProduct
from sync_protocol.money import to_decimal
from sync_protocol.watermelon import RawRecord, Rejection


async def _found_again(jobs: list[Job], since: datetime, xero: XeroReads) -> list[tuple[Job, Fate]]:
    """Creates found in Xero by their code: Xero's item codes are unique (ignoring case) among an
    organisation's items, so the item with a create's code is the one it made."""
    pages = await xero.changed_since("/Items", wire.Items, since)
    items = {item.code.lower(): item for page in pages for item in page.items}
    found: list[tuple[Job, Fate]] = []
    for job in jobs:
        item = items.get(str(job.element["Code"]).lower())
        if item is not None:
            found.append((job, InXero(item.item_id)))
    return found


ITEM_CREATE = Operation(
    "item_create",
    "PUT",
    "/Items",
    "Items",
    True,
    wire.Items,
    params=UNIT_DP_4,
    id_key="ItemID",
    found_again=_found_again,
    links_mirror=True,  # later pulls update the phone's product instead of adding a second copy
)
ITEM_UPDATE = Operation(
    "item_update",
    "POST",
    "/Items",
    "Items",
    False,
    wire.Items,
    params=UNIT_DP_4,
    id_key="ItemID",
    # No ``refused_record``: a refused item edit leaves the phone's product as it is, ``failed``
    # with Xero's message (``server/forwarding/refused.py`` reads back contacts and invoices only).
)

NOT_SENT = kept_by_setting("product edits")


def _with_code(products: list[Product], code: str, other_than: str) -> Product | None:
    """A product other than ``other_than`` with ``code``, ignoring case as Xero's item codes do."""
    wanted = code.lower()
    return next((p for p in products if p.id != other_than and p.code.lower() == wanted), None)


class ProductKind:
    tag = "upsert_product"
    mutation_type = UpsertProduct
    plans_with_organisation = False
    operations: tuple[Operation, ...] = (ITEM_CREATE, ITEM_UPDATE)

    # --- push -----------------------------------------------------------------------------------
    def target(self, mutation: UpsertProduct) -> tuple[str, str]:
        return "product", mutation.product.id

    def referenced(self, mutation: UpsertProduct) -> list[str]:
        return [mutation.product.id]

    async def stage(self, mutation: UpsertProduct, staging: Staging) -> tuple[Entity, list[Upload]]:
        draft = mutation.product
        previous = await staging.get(Product, draft.id)
        if previous is None:
            if await staging.gone_from_xero(Product, draft.id):
                # An edit of an item deleted in Xero since the phone last pulled: creating it
                # again would bring back what someone removed on purpose.
                raise Rejected(
                    ErrorCode.UNKNOWN_PRODUCT,
                    f"product {draft.id} was deleted in Xero; refresh to drop it",
                    "product.id",
                )
            await staging.new_id(Product, draft.id, "product.id")
        other = _with_code(await staging.view.every(Product), draft.code, draft.id)
        if other is not None:
            raise Rejected(
                ErrorCode.CODE_TAKEN,
                f"product {other.id} ({other.name}) has the code {other.code!r} already",
                "product.code",
                {"product_id": other.id},
            )
        if draft.account_code is not None and await staging.account(draft.account_code) is None:
            raise Rejected(
                ErrorCode.UNKNOWN_ACCOUNT, f"no account {draft.account_code}", "product.account_code"
            )
        if draft.tax_type is not None and await staging.view.tax_rate(draft.tax_type) is None:
            raise Rejected(ErrorCode.UNKNOWN_TAX_TYPE, f"no tax rate {draft.tax_type}", "product.tax_type")
        record = Product(
            id=draft.id,
            xero_id=previous.xero_id if previous else None,
            code=draft.code,
            name=draft.name,
            description=draft.description,
            unit_price=to_decimal(draft.unit_price) if draft.unit_price is not None else None,
            account_code=draft.account_code,
            tax_type=draft.tax_type,
            is_sold=draft.is_sold,
            is_purchased=draft.is_purchased,
        )
        if previous is not None:
            record = msgspec.structs.replace(record, sync=previous.sync, updated_at=previous.updated_at)
        return record, await staging.open_dependencies([draft.id])

    def stored(self, mutation: UpsertProduct, replaced: Upload | None) -> UpsertProduct:
        return mutation  # the whole product: a later edit replaces an earlier one still queued

    # --- forward --------------------------------------------------------------------------------
    def forward_references(self, mutation: UpsertProduct) -> list[tuple[str, str]]:
        return [("product", mutation.product.id)]

    def plan(self, mutation: UpsertProduct, context: PlanContext) -> Plan:
        product = context.records.get(Product, mutation.product.id)
        xero_id = product.xero_id if product else None
        if xero_id and not context.settings.update_products:
            return Held(NOT_SENT)
        return Send(ITEM_UPDATE if xero_id else ITEM_CREATE, item_element(mutation.product, xero_id))

    def fate_of(self, element: Any) -> InXero:
        return InXero(element.item_id)

    def field_of(self, mutation: UpsertProduct, message: str) -> str:
        lowered = message.lower()
        if "item code" in lowered or "code must" in lowered:
            return "product.code"
        if "account" in lowered:
            return "product.account_code"
        if "taxtype" in lowered or "tax type" in lowered:
            return "product.tax_type"
        if "price" in lowered:
            return "product.unit_price"
        if "description" in lowered:
            return "product.description"
        if "name" in lowered:
            return "product.name"
        return ""

    # --- WatermelonDB ---------------------------------------------------------------------------
    def watermelon_versioned(self, mutation: UpsertProduct) -> list[tuple[str, str | None]]:
        return []

    edits_have_bases = False

    def with_base(self, mutation: UpsertProduct, earlier: bytes, named: list[Any] | None) -> UpsertProduct:
        return mutation

    def same_as_server(self, mutation: UpsertProduct, payload: bytes) -> bool:
        return same(mutation.product, draft_of_row(row(msgspec.json.decode(payload, type=Product))))

    async def watermelon_changes(self, push: WatermelonPush) -> list[Unit]:
        changes = push.table("products")
        units = []
        for raw in changes.created + changes.updated:
            unit = Unit("products", raw["id"], [("products", raw["id"])])
            try:
                unit.mutation = UpsertProduct(mutation_id="", product=draft_of_row(raw))
            except Unusable as exc:
                unit.rejection = Rejection(
                    table="products",
                    id=unit.record_id,
                    code=ErrorCode.INVALID_INPUT,
                    message=exc.message,
                    field=exc.field,
                )
            units.append(unit)
        return units

    async def watermelon_deletions(self, push: WatermelonPush) -> list[Unit]:
        """A product the server has is not deleted: the app gets it back on its next pull."""
        units = []
        for product_id in push.table("products").deleted:
            if await push.record(Product, "product", product_id) is not None:
                rejection = Rejection(
                    table="products",
                    id=product_id,
                    code=ErrorCode.NOT_DELETABLE,
                    message="products cannot be deleted from a phone: delete the item in Xero",
                )
                unit = Unit("products", product_id, [("products", product_id)], rejection=rejection)
                unit.deletion = True
                units.append(unit)
        return units


KIND = ProductKind()


# --- Xero elements --------------------------------------------------------------------------------
def item_element(draft: ProductDraft, xero_id: str | None) -> dict[str, Any]:
    """The item as Xero takes it: the whole product (an edit sends every field, so Xero ends with
    what the phone has); its price, account and tax type are the item's sales details."""
    element: dict[str, Any] = {
        "Code": draft.code,
        "Name": draft.name,
        "Description": draft.description,
        "IsSold": draft.is_sold,
        "IsPurchased": draft.is_purchased,
    }
    if xero_id:
        element["ItemID"] = xero_id
    sales: dict[str, Any] = {}
    if draft.unit_price is not None:
        sales["UnitPrice"] = str(to_decimal(draft.unit_price))
    if draft.account_code is not None:
        sales["AccountCode"] = draft.account_code
    if draft.tax_type is not None:
        sales["TaxType"] = draft.tax_type
    if sales:
        element["SalesDetails"] = sales
    return element


# --- WatermelonDB rows ----------------------------------------------------------------------------
def row(record: Product) -> RawRecord:
    return {
        "id": record.id,
        "xero_id": record.xero_id,
        "code": record.code,
        "name": record.name,
        "description": record.description,
        "unit_price": decimal_text(record.unit_price),
        "account_code": record.account_code,
        "tax_type": record.tax_type,
        "is_sold": record.is_sold,
        "is_purchased": record.is_purchased,
        **sync_columns(record.sync),
    }


def draft_of_row(raw: RawRecord) -> ProductDraft:
    price = optional(raw, "unit_price")
    draft: ProductDraft = convert(
        {
            "id": raw.get("id"),
            "code": raw.get("code"),
            "name": raw.get("name"),
            "description": text(raw, "description"),
            "unit_price": str(Decimal(str(price))) if isinstance(price, int | float) else price,
            "account_code": optional(raw, "account_code"),
            "tax_type": optional(raw, "tax_type"),
            "is_sold": True if raw.get("is_sold") is None else raw.get("is_sold"),
            "is_purchased": True if raw.get("is_purchased") is None else raw.get("is_purchased"),
        },
        ProductDraft,
        "product",
    )
    return draft
