"""The data types an admin can sync, and the mirror kinds (feed entity names) they fill."""

from __future__ import annotations

from typing import Literal, get_args

# ``invoices``: only those ledgersync forwarded (their status and amounts as Xero has them now);
# ``payments``: the payments on those invoices (after them: a pull's invoice amounts are then settled
# from the payment records phones hold, ``server.core.facts.settle_paid_amounts``).
DataType = Literal[
    "tax_rates",
    "customers",
    "products",
    "accounts",
    "tracking_categories",
    "branding_themes",
    "invoices",
    "payments",
]
DATA_TYPES: tuple[DataType, ...] = get_args(DataType)

# Feed entity names (sync_protocol.entities.ENTITY_NAME); the organisation record rides with tax rates.
TAX_RATE = "tax_rate"
CUSTOMER = "customer"
PRODUCT = "product"
ACCOUNT = "account"
TRACKING_CATEGORY = "tracking_category"
TRACKING_OPTION = "tracking_option"  # rides with tracking categories
BRANDING_THEME = "branding_theme"
ORGANISATION = "organisation"
INVOICE = "invoice"
PAYMENT = "payment"


def parse_types(names: list[str] | None) -> list[DataType]:
    """The requested types in canonical order; None or empty means all. Unknown names raise ValueError."""
    if not names:
        return list(DATA_TYPES)
    unknown = sorted(set(names) - set(DATA_TYPES))
    if unknown:
        raise ValueError(", ".join(unknown))
    return [kind for kind in DATA_TYPES if kind in names]
