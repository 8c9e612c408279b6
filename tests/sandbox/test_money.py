"""Invoice arithmetic: per-line rounding to cents (half away from zero), totals = sum of lines."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.sandbox import RunningSandbox
from tests.sandbox.support import create_invoice, first_contact_id, line
from xero_sandbox.money import line_amount, line_tax, totals
from xero_sandbox.store import Organisation

CENT = Decimal("0.01")
money_2dp = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
money_4dp = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("9999.9999"), places=4)
quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000"), places=4)
rates = st.sampled_from([Decimal(0), Decimal(5), Decimal("12.5"), Decimal(15), Decimal(20)])
amount_types = st.sampled_from(["Exclusive", "Inclusive", "NoTax"])


def _expected_tax(amount: Decimal, rate: Decimal, amount_type: str) -> Decimal:
    if amount_type == "NoTax":
        return Decimal("0.00")
    base = amount * rate / (100 + rate) if amount_type == "Inclusive" else amount * rate / 100
    return base.quantize(CENT, rounding=ROUND_HALF_UP)


@given(st.lists(st.tuples(quantities, money_4dp, rates), min_size=1, max_size=8), amount_types)
def test_totals_are_sums_of_per_line_rounded_amounts(
    lines: list[tuple[Decimal, Decimal, Decimal]], amount_type: str
) -> None:
    pairs = []
    for quantity, unit, rate in lines:
        amount = line_amount(quantity, unit)
        assert amount == (quantity * unit).quantize(CENT, rounding=ROUND_HALF_UP)
        tax = line_tax(amount, rate, amount_type)  # type: ignore[arg-type]
        assert tax == _expected_tax(amount, rate, amount_type)
        pairs.append((amount, tax))
    result = totals(pairs, amount_type)  # type: ignore[arg-type]
    assert result.total_tax == sum(tax for _, tax in pairs)
    assert result.total == result.sub_total + result.total_tax
    if amount_type == "Inclusive":
        assert result.total == sum(amount for amount, _ in pairs)
    else:
        assert result.sub_total == sum(amount for amount, _ in pairs)


def test_half_cent_rounds_away_from_zero() -> None:
    assert line_tax(Decimal("0.10"), Decimal("12.5"), "Exclusive") == Decimal("0.01")  # 0.0125
    assert line_amount(Decimal(1), Decimal("0.125")) == Decimal("0.13")
    assert line_amount(Decimal(-1), Decimal("0.125")) == Decimal("-0.13")


def test_discount_applies_before_rounding() -> None:
    assert line_amount(Decimal(3), Decimal("9.99"), Decimal(10)) == Decimal("26.97")


_TAX = {"Exclusive": "OUTPUT2", "Inclusive": "OUTPUT2", "NoTax": "NONE"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(quantities, money_4dp), min_size=1, max_size=5), amount_types, st.booleans())
def test_api_invoice_totals_follow_the_line_rules(
    xero: httpx.Client, lines: list[tuple[Decimal, Decimal]], amount_type: str, four_dp: bool
) -> None:
    contact_id = first_contact_id(xero)
    params = {"unitdp": "4"} if four_dp else {}
    created = create_invoice(
        xero,
        contact_id,
        [line(str(unit), str(qty), tax=_TAX[amount_type]) for qty, unit in lines],
        params=params,
        LineAmountTypes=amount_type,
    )
    sent_units = [unit if four_dp else unit.quantize(CENT, rounding=ROUND_HALF_UP) for _, unit in lines]
    for (quantity, _), unit, got in zip(lines, sent_units, created["LineItems"], strict=True):
        assert got["UnitAmount"] == unit
        assert got["LineAmount"] == (quantity * unit).quantize(CENT, rounding=ROUND_HALF_UP)
        assert got["TaxAmount"] == _expected_tax(
            got["LineAmount"], Decimal(15) if amount_type != "NoTax" else Decimal(0), amount_type
        )
    line_sum = sum(item["LineAmount"] for item in created["LineItems"])
    tax_sum = sum(item["TaxAmount"] for item in created["LineItems"])
    assert created["TotalTax"] == tax_sum
    assert created["Total"] == created["SubTotal"] + created["TotalTax"]
    assert (created["Total"] if amount_type == "Inclusive" else created["SubTotal"]) == line_sum
    assert created["AmountDue"] == created["Total"]


@pytest.mark.parametrize(
    ("amount_type", "unit", "unitdp", "expected"),
    [
        # (SubTotal, TotalTax, Total) for 3 x unit at 15% GST
        ("Exclusive", "10.005", None, ("30.03", "4.50", "34.53")),  # unit rounded to 10.01 without unitdp
        ("Exclusive", "10.005", "4", ("30.02", "4.50", "34.52")),  # 30.015 -> 30.02
        ("Inclusive", "11.50", None, ("30.00", "4.50", "34.50")),
        ("Inclusive", "10.0049", "4", ("26.10", "3.91", "30.01")),  # 30.0147 -> 30.01, tax 30.01*15/115
        ("NoTax", "10.005", None, ("30.03", "0.00", "30.03")),
        ("NoTax", "10.0051", "4", ("30.02", "0.00", "30.02")),
    ],
)
def test_totals_for_each_line_amount_type_and_precision(
    xero: httpx.Client, amount_type: str, unit: str, unitdp: str | None, expected: tuple[str, str, str]
) -> None:
    tax = "NONE" if amount_type == "NoTax" else "OUTPUT2"
    created = create_invoice(
        xero,
        first_contact_id(xero),
        [line(unit, "3", tax=tax)],
        params={"unitdp": unitdp} if unitdp else {},
        LineAmountTypes=amount_type,
    )
    assert (created["SubTotal"], created["TotalTax"], created["Total"]) == tuple(Decimal(v) for v in expected)


def test_money_is_emitted_with_two_decimals_and_units_with_four_on_request(xero: httpx.Client) -> None:
    created = create_invoice(xero, first_contact_id(xero), [line("12.3456")], params={"unitdp": "4"})
    raw = xero.get(f"/Invoices/{created['InvoiceID']}", params={"unitdp": "4"}).text
    assert '"UnitAmount":12.3456' in raw
    assert '"SubTotal":12.35' in raw
    assert '"UnitAmount":12.35' in xero.get(f"/Invoices/{created['InvoiceID']}").text


def test_compound_tax_rate_uses_the_effective_rate(xero: httpx.Client) -> None:
    created = create_invoice(xero, first_contact_id(xero), [line("100.00", tax="TAX004")])
    assert created["TotalTax"] == Decimal("12.20")


def test_xero_rounding_guide_example(xero: httpx.Client) -> None:
    """Xero's 'Rounding in Xero' guide: per-line tax 3.76 + 3.84 + 3.84 = 11.44 (not 15% of 76.30)."""
    lines = [line(amount, tax="OUTPUT2") for amount in ("25.06", "25.61", "25.63")]
    created = create_invoice(xero, first_contact_id(xero), lines)
    assert [item["TaxAmount"] for item in created["LineItems"]] == [
        Decimal("3.76"),
        Decimal("3.84"),
        Decimal("3.84"),
    ]
    assert (created["SubTotal"], created["TotalTax"], created["Total"]) == (
        Decimal("76.30"),
        Decimal("11.44"),
        Decimal("87.74"),
    )


def test_a_line_keeps_the_tax_amount_it_is_given(xero: httpx.Client) -> None:
    # 0.30 at 15% is 0.045: computed 0.05, but the client says 0.04 and Xero keeps what it is given.
    created = create_invoice(
        xero, first_contact_id(xero), [line("0.30", tax="OUTPUT2", TaxAmount=Decimal("0.04"))]
    )
    assert created["LineItems"][0]["TaxAmount"] == Decimal("0.04")
    assert (created["SubTotal"], created["TotalTax"], created["Total"]) == (
        Decimal("0.30"),
        Decimal("0.04"),
        Decimal("0.34"),
    )


def test_the_tie_rule_of_a_computed_tax_is_set_per_organisation(
    sandbox: RunningSandbox, xero_org: Organisation, xero: httpx.Client
) -> None:
    contact_id = first_contact_id(xero)
    assert create_invoice(xero, contact_id, [line("0.30", tax="OUTPUT2")])["TotalTax"] == Decimal("0.05")
    answer = sandbox.control().post(
        f"/organisations/{xero_org.tenant_id}/tax-rules", json={"rounding": "half_even"}
    )
    assert answer.status_code == 200, answer.text
    assert create_invoice(xero, contact_id, [line("0.30", tax="OUTPUT2")])["TotalTax"] == Decimal("0.04")
    given_tax = create_invoice(xero, contact_id, [line("0.30", tax="OUTPUT2", TaxAmount=Decimal("0.05"))])
    assert given_tax["TotalTax"] == Decimal("0.05")


def test_banker_rounding_can_be_the_sandbox_default(make_sandbox: Callable[..., RunningSandbox]) -> None:
    other = make_sandbox(tax_rounding="half_even")
    org = other.organisation()
    xero = other.api(org.tenant_id)
    assert create_invoice(xero, first_contact_id(xero), [line("0.30", tax="OUTPUT2")])["TotalTax"] == Decimal(
        "0.04"
    )
