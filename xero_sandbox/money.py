"""Invoice arithmetic as Xero does it.

Each line: LineAmount = round(Quantity x UnitAmount x (1 - DiscountRate/100), 2); its tax is rounded to
2 dp per line, then lines are summed (Xero's "Rounding in Xero" guide). Ties round half away from zero
(Decimal ROUND_HALF_UP: 0.125 -> 0.13, -0.125 -> -0.13): the guide does not say, and this is the usual
commercial rule in NZ/AU/UK, so it is the sandbox's documented choice. The tie rule of a line's tax is
configurable (``SandboxConfig.tax_rounding``, or per organisation through the control API), so a test
can show a client that leaves the tax to Xero ending a cent away from its own total: banker's
rounding (``half_even``: 0.125 -> 0.12) is the usual other rule. A line that carries its own
``TaxAmount`` keeps it (the spec: "This value can be overriden if the calculated <TaxAmount> is not
correct"), whatever the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Literal

LineAmountType = Literal["Exclusive", "Inclusive", "NoTax"]
TaxRounding = Literal["half_up", "half_even"]
TAX_ROUNDINGS: tuple[TaxRounding, ...] = ("half_up", "half_even")
_ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def round_money(amount: Decimal, rounding: TaxRounding = "half_up") -> Decimal:
    return amount.quantize(CENT, rounding=_ROUNDING[rounding])


def line_amount(quantity: Decimal, unit_amount: Decimal, discount_rate: Decimal = Decimal(0)) -> Decimal:
    return round_money(quantity * unit_amount * (HUNDRED - discount_rate) / HUNDRED)


def line_tax(
    amount: Decimal, rate_percent: Decimal, amount_type: LineAmountType, rounding: TaxRounding = "half_up"
) -> Decimal:
    """Tax of one line, rounded to cents. Inclusive lines carry their tax: extract rate/(100+rate)."""
    if amount_type == "NoTax":
        return Decimal("0.00")
    if amount_type == "Inclusive":
        return round_money(amount * rate_percent / (HUNDRED + rate_percent), rounding)
    return round_money(amount * rate_percent / HUNDRED, rounding)


@dataclass(frozen=True)
class Totals:
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal


def totals(lines: Iterable[tuple[Decimal, Decimal]], amount_type: LineAmountType) -> Totals:
    """Totals from (LineAmount, TaxAmount) pairs: line amounts include tax only when Inclusive."""
    pairs = list(lines)
    amounts = sum((amount for amount, _ in pairs), Decimal("0.00"))
    tax = sum((tax for _, tax in pairs), Decimal("0.00"))
    if amount_type == "Inclusive":
        return Totals(sub_total=amounts - tax, total_tax=tax, total=amounts)
    return Totals(sub_total=amounts, total_tax=tax, total=amounts + tax)
