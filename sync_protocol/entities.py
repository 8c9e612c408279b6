"""Records the server sends down: what the mirror of Xero holds, in the shape phones store.

Evolution rule: fields are only ever added, each with a default; a field's type never changes.
Every record has ``id`` (ledgersync's id, stable for the record's life) and, when it exists in
Xero, ``xero_id``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

import msgspec

LineAmountType = Literal["Exclusive", "Inclusive", "NoTax"]


class Entity(msgspec.Struct, kw_only=True, tag_field="entity"):
    id: str
    xero_id: str | None = None
    updated_at: datetime | None = None


class TaxRate(Entity, tag="tax_rate"):
    """A Xero tax rate. Phones reference it by ``tax_type`` (Xero's TaxType code)."""

    tax_type: str
    name: str
    rate: Decimal  # effective rate in percent, e.g. "15.0000"
    status: Literal["ACTIVE", "DELETED", "ARCHIVED", "PENDING"] = "ACTIVE"
    can_apply_to_revenue: bool = True


class Address(msgspec.Struct, kw_only=True):
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""


class Customer(Entity, tag="customer"):
    """A Xero contact (customer)."""

    name: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    account_number: str = ""
    tax_number: str = ""
    address: Address | None = None
    status: Literal["ACTIVE", "ARCHIVED"] = "ACTIVE"


class Product(Entity, tag="product"):
    """A Xero item (product or service) that can be sold."""

    code: str
    name: str
    description: str = ""
    unit_price: Decimal | None = None
    account_code: str | None = None
    tax_type: str | None = None
    is_sold: bool = True


class Account(Entity, tag="account"):
    """A Xero account phones or admins may need (bank and revenue accounts)."""

    code: str
    name: str
    type: str  # Xero's account Type: BANK, REVENUE, SALES, ...
    account_class: str = ""  # Xero's Class: ASSET, REVENUE, ...
    status: Literal["ACTIVE", "ARCHIVED"] = "ACTIVE"
    tax_type: str | None = None
    enable_payments: bool = False


class OrganisationSettings(Entity, tag="organisation"):
    """What a phone needs to know about the business (one record per organisation)."""

    name: str
    base_currency: str = "NZD"
    country_code: str = ""
    default_line_amount_type: LineAmountType = "Exclusive"
    default_sales_tax_type: str | None = None
    forward_payments: bool = True
    invoice_status: Literal["DRAFT", "AUTHORISED"] = "AUTHORISED"


# The feed's entity names, by struct; ``Change.entity`` uses these.
ENTITY_NAME: dict[type[Entity], str] = {
    TaxRate: "tax_rate",
    Customer: "customer",
    Product: "product",
    Account: "account",
    OrganisationSettings: "organisation",
}

_encoder = msgspec.json.Encoder(decimal_format="string")


def encode_entity(entity: Entity) -> bytes:
    """The exact bytes the feed stores and a pull sends for ``entity``."""
    return _encoder.encode(entity)
