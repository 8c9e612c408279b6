"""Invoice amounts the way Xero computes them: properties of the rounding and the totals."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sync_protocol.totals import invoice_totals, line_amount, line_tax, round_money

quantities = st.decimals(min_value=0, max_value=10_000, places=4)
unit_amounts = st.decimals(min_value=-100_000, max_value=100_000, places=4)
discounts = st.none() | st.decimals(min_value=0, max_value=100, places=2)
rates = st.decimals(min_value=0, max_value=50, places=4)
kinds = st.sampled_from(["Exclusive", "Inclusive", "NoTax"])


def test_half_a_cent_rounds_away_from_zero() -> None:
    assert round_money(Decimal("0.005")) == Decimal("0.01")
    assert round_money(Decimal("-0.005")) == Decimal("-0.01")
    assert round_money(Decimal("14.985")) == Decimal("14.99")


def test_inclusive_tax_is_the_part_of_the_line_above_its_net() -> None:
    assert line_tax(Decimal("115.00"), Decimal("15"), "Inclusive") == Decimal("15.00")


@given(quantities, unit_amounts, discounts)
def test_a_line_amount_has_two_places_and_is_within_half_a_cent(
    quantity: Decimal, unit: Decimal, discount: Decimal | None
) -> None:
    amount = line_amount(quantity, unit, discount)
    exact = quantity * unit * (1 - (discount or 0) / Decimal(100))
    assert amount.as_tuple().exponent == -2
    assert abs(amount - exact) <= Decimal("0.005")


@given(unit_amounts, rates)
def test_a_line_tax_has_two_places_and_no_tax_is_zero(amount: Decimal, rate: Decimal) -> None:
    money = round_money(amount)
    for kind in ("Exclusive", "Inclusive"):
        assert line_tax(money, rate, kind).as_tuple().exponent == -2  # type: ignore[arg-type]
    assert line_tax(money, rate, "NoTax") == 0


@given(st.lists(st.tuples(unit_amounts, rates), min_size=1, max_size=20), kinds)
def test_totals_add_up(lines: list[tuple[Decimal, Decimal]], kind: str) -> None:
    amounts = [round_money(a) for a, _ in lines]
    taxes = [line_tax(a, r, kind) for a, (_, r) in zip(amounts, lines, strict=True)]  # type: ignore[arg-type]
    totals = invoice_totals(amounts, taxes, kind)  # type: ignore[arg-type]
    assert totals.total == totals.sub_total + totals.total_tax
    assert totals.total_tax == sum(taxes)
    assert (totals.total if kind == "Inclusive" else totals.sub_total) == sum(amounts)


@given(unit_amounts, rates)
def test_rounding_is_symmetric_around_zero(amount: Decimal, rate: Decimal) -> None:
    money = round_money(amount)
    assert line_tax(-money, rate, "Exclusive") == -line_tax(money, rate, "Exclusive")
