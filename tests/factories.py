"""Factories for rows the tests need: small, explicit, one call per thing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from server.core import feed
from server.core.feed import Change
from server.db.database import Database
from server.db.models import Organisation
from sync_protocol.entities import (
    ENTITY_NAME,
    Account,
    Customer,
    Entity,
    OrganisationSettings,
    Product,
    TaxRate,
    encode_entity,
)


async def make_organisation(db: Database, name: str | None = None) -> uuid.UUID:
    async with db.transaction() as session:
        organisation = Organisation(name=name or f"Org {uuid.uuid4().hex[:6]}")
        session.add(organisation)
        await session.flush()
        return organisation.id


async def publish_entities(db: Database, organisation_id: uuid.UUID, entities: Sequence[Entity]) -> int:
    """Publishes records into the feed the way the Xero mirror does: one change per record."""
    async with db.transaction() as session:
        return await feed.publish(
            session,
            organisation_id,
            [Change(ENTITY_NAME[type(e)], e.id, encode_entity(e)) for e in entities],
        )


async def delete_entities(db: Database, organisation_id: uuid.UUID, keys: Sequence[tuple[str, str]]) -> int:
    """Tombstones records, as the mirror does when they vanish from Xero."""
    async with db.transaction() as session:
        return await feed.publish(session, organisation_id, [Change(e, i, None) for e, i in keys])


def tax_rate(tax_type: str = "OUTPUT2", rate: str = "15.0000") -> TaxRate:
    return TaxRate(
        id=f"tax-{tax_type}", xero_id=str(uuid.uuid4()), tax_type=tax_type, name=tax_type, rate=Decimal(rate)
    )


def customer(n: int, name: str | None = None) -> Customer:
    return Customer(
        id=f"00000000-0000-4000-8000-{n:012d}", xero_id=str(uuid.uuid4()), name=name or f"Customer {n}"
    )


def product(n: int, price: str = "49.95", tax_type: str = "OUTPUT2") -> Product:
    return Product(
        id=f"00000000-0000-4000-9000-{n:012d}",
        xero_id=str(uuid.uuid4()),
        code=f"P{n:04d}",
        name=f"Product {n}",
        unit_price=Decimal(price),
        account_code="200",
        tax_type=tax_type,
    )


def account(code: str = "200", type_: str = "REVENUE", enable_payments: bool = False) -> Account:
    return Account(
        id=f"acct-{code}",
        xero_id=str(uuid.uuid4()),
        code=code,
        name=f"Account {code}",
        type=type_,
        enable_payments=enable_payments,
    )


def standard_mirror(customers: int = 3, products: int = 2) -> list[Entity]:
    """A small organisation as the mirror would publish it: tax rates, accounts, settings, records."""
    return [
        OrganisationSettings(id="organisation", name="Acme Plumbing", default_sales_tax_type="OUTPUT2"),
        tax_rate("OUTPUT2", "15.0000"),
        tax_rate("NONE", "0.0000"),
        account("200", "REVENUE"),
        account("090", "BANK", enable_payments=True),
        *(customer(n) for n in range(1, customers + 1)),
        *(product(n) for n in range(1, products + 1)),
    ]


def documented_push() -> list[dict[str, Any]]:
    """protocol.md's push example (recorded against the sandbox) with its product as ``product(1)``:
    a customer, an invoice and an overpayment the server refuses."""
    from mobile_api.examples import PUSH_REQUEST

    mutations: list[dict[str, Any]] = []
    for mutation in PUSH_REQUEST["mutations"]:
        if mutation["op"] == "upsert_invoice":
            lines = [
                {**line, "product_id": product(1).id} if line.get("product_id") else line
                for line in mutation["invoice"]["lines"]
            ]
            mutation = {**mutation, "invoice": {**mutation["invoice"], "lines": lines}}
        mutations.append(mutation)
    return mutations
