"""Organisation, Accounts and TaxRates: read-mostly reference data of a tenant."""

from __future__ import annotations

from typing import Any

from .records import public
from .store import Organisation, Record
from .wire import FOUR_DP, msdate

ACCOUNT_CLASS = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "FIXED": "ASSET",
    "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET",
    "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "PAYG": "LIABILITY",
    "DEPRECIATN": "EXPENSE",
    "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "EQUITY": "EQUITY",
    "OTHERINCOME": "REVENUE",
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
}


def account_wire(account: Record) -> dict[str, Any]:
    return public(account)


def tax_rate_wire(rate: Record) -> dict[str, Any]:
    out = public(rate)
    # Xero sends rates with four decimal places: 15.0000.
    out["DisplayTaxRate"] = rate["DisplayTaxRate"].quantize(FOUR_DP)
    out["EffectiveRate"] = rate["EffectiveRate"].quantize(FOUR_DP)
    out["TaxComponents"] = [dict(component) for component in rate["TaxComponents"]]
    return out


def organisation_wire(org: Organisation) -> dict[str, Any]:
    out = public(org.info)
    out["CreatedDateUTC"] = msdate(org.created)
    return out
