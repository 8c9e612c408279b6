"""Invoice amounts computed the way Xero computes them, so a phone and the server agree.

Per line: ``line_amount = round(quantity * unit_amount * (1 - discount/100), 2)``; the line's tax
is rounded to 2 places on its own; totals are sums of the rounded line values. Rounding is
ROUND_HALF_UP on the magnitude (Xero rounds half away from zero). Tax by line amount type:

- ``Exclusive``: tax = line_amount * rate; total = sub_total + total_tax
- ``Inclusive``: tax = line_amount - line_amount / (1 + rate); the line amount includes the tax,
  so sub_total = sum of line_amount - total_tax and total = sum of line_amount
- ``NoTax``: tax = 0
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sync_protocol.entities import LineAmountType

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def round_money(amount: Decimal) -> Decimal:
    # Decimal's ROUND_HALF_UP rounds half away from zero, which is Xero's rule.
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(quantity: Decimal, unit_amount: Decimal, discount_rate: Decimal | None) -> Decimal:
    gross = quantity * unit_amount
    if discount_rate:
        gross = gross * (1 - discount_rate / HUNDRED)
    return round_money(gross)


def line_tax(amount: Decimal, rate_percent: Decimal, kind: LineAmountType) -> Decimal:
    if kind == "NoTax" or not rate_percent:
        return Decimal("0.00")
    rate = rate_percent / HUNDRED
    if kind == "Exclusive":
        return round_money(amount * rate)
    return round_money(amount - amount / (1 + rate))


@dataclass(frozen=True, slots=True)
class Totals:
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal


def invoice_totals(line_amounts: list[Decimal], taxes: list[Decimal], kind: LineAmountType) -> Totals:
    lines = sum(line_amounts, Decimal("0.00"))
    tax = sum(taxes, Decimal("0.00"))
    if kind == "Inclusive":
        return Totals(sub_total=lines - tax, total_tax=tax, total=lines)
    return Totals(sub_total=lines, total_tax=tax, total=lines + tax)
