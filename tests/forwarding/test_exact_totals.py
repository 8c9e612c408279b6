"""The invoice that lands in Xero has the phone's totals to the cent: each line's tax goes explicitly.

The sandbox rounds a tax it computes itself by a tie rule set per organisation; ledgersync sends the
phone's per-line TaxAmount, so Xero's SubTotal, TotalTax and Total are the phone's whatever that rule.
When Xero's totals differ all the same, the upload says so (``xero_totals_differ``).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import Invoice, LineAmountType
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import UpsertInvoice
from tests.forwarding.conftest import SALES, Forwarding, settle

quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000"), places=4)
unit_amounts = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("9999.9999"), places=4)
# GST 15%, and a compound rate of two components (a 2% levy, then 10% on amount + levy: 12.2%).
tax_types = st.sampled_from(["OUTPUT2", "TAX004"])
# One unit of 0.30, 0.70, 1.10, ...: 15% of it ends in a half cent that half-up and banker's
# rounding break apart (0.045 -> 0.05 or 0.04), so the tie rule shows unless the tax goes explicitly.
ties = st.tuples(
    st.just(Decimal("1.0000")),
    st.integers(0, 2499).map(lambda n: Decimal(40 * n + 30) / 100),
    st.just("OUTPUT2"),
)
lines = st.lists(st.one_of(st.tuples(quantities, unit_amounts, tax_types), ties), min_size=1, max_size=4)
amount_types = st.sampled_from(["Exclusive", "Inclusive", "NoTax"])

Case = tuple[LineAmountType, list[tuple[Decimal, Decimal, str]]]


def _cases(count: int) -> list[Case]:
    """``count`` random invoices drawn by hypothesis (pushed together: one forwarding run for all)."""
    drawn: list[Case] = []

    @settings(max_examples=count, database=None, suppress_health_check=list(HealthCheck))
    @given(amount_types, lines)
    def draw(amount_type: LineAmountType, drawn_lines: list[tuple[Decimal, Decimal, str]]) -> None:
        drawn.append((amount_type, drawn_lines))

    draw()
    return drawn


def _tax_rules(forwarding: Forwarding, **rules: Any) -> None:
    answer = forwarding.sandbox.control().post(
        f"/organisations/{forwarding.xero_org.tenant_id}/tax-rules", json=rules
    )
    assert answer.status_code == 200, answer.text


def _customer(phone: Phone) -> str:
    return sorted(record_id for (_, record_id) in phone.store.records("customer"))[0]


async def test_xeros_totals_of_random_forwarded_invoices_are_the_phones(
    forwarding: Forwarding, phone: Phone
) -> None:
    # Xero breaks ties of the tax it computes the other way (banker's rounding): only the explicit
    # TaxAmount keeps its totals the phone's.
    _tax_rules(forwarding, rounding="half_even")
    customer = _customer(phone)
    ids = [
        phone.create_invoice(
            customer,
            [
                Line(str(quantity), str(unit), tax_type=None if kind == "NoTax" else tax, account_code=SALES)
                for quantity, unit, tax in drawn_lines
            ],
            line_amount_type=kind,
        )
        for kind, drawn_lines in _cases(30)
    ]
    drafts = {m.invoice.id: m.invoice for m in phone.store.pending(100) if isinstance(m, UpsertInvoice)}
    results = await phone.upload()
    assert {r.status for r in results} == {"applied"}, [r for r in results if r.status != "applied"]

    await settle(forwarding.admin)

    for invoice_id in ids:
        draft, xero = drafts[invoice_id], forwarding.xero_invoice_for(invoice_id)
        assert (xero["SubTotal"], xero["TotalTax"], xero["Total"]) == (
            Decimal(draft.sub_total),
            Decimal(draft.total_tax),
            Decimal(draft.total),
        ), draft
        assert [line["TaxAmount"] for line in xero["LineItems"]] == [
            Decimal(li.tax_amount) for li in draft.lines
        ]
    uploads = (await forwarding.admin.get("/admin/api/uploads", params={"state": "done"})).json()["uploads"]
    assert [u["last_error"] for u in uploads if u["kind"] == "upsert_invoice"] == [""] * len(ids)


async def test_an_invoice_whose_totals_xero_computes_otherwise_lands_and_says_by_how_much(
    forwarding: Forwarding, phone: Phone
) -> None:
    # A Xero that drops the line's TaxAmount and rounds 0.30 x 15% = 0.045 to even: 0.04, not 0.05.
    _tax_rules(forwarding, rounding="half_even", keep_given_tax=False)
    invoice_id = phone.create_invoice(
        _customer(phone), [Line("1", "0.30", tax_type="OUTPUT2", account_code=SALES)]
    )
    await phone.upload()

    await settle(forwarding.admin)

    xero = forwarding.xero_invoice_for(invoice_id)
    assert (xero["TotalTax"], xero["Total"]) == (Decimal("0.04"), Decimal("0.34"))
    [upload] = (await forwarding.admin.get("/admin/api/uploads", params={"state": "done"})).json()["uploads"]
    assert upload["state"] == "in_xero"
    assert upload["xero_id"] == xero["InvoiceID"]
    assert "TotalTax 0.04 in Xero, 0.05 on the phone (-0.01)" in upload["last_error"]
    assert "Total 0.34 in Xero, 0.35 on the phone (-0.01)" in upload["last_error"]
    errors: list[dict[str, object]] = []
    for _ in range(50):  # the forwarding run's log entry closes just after the upload's fate
        runs = (await forwarding.admin.get("/admin/api/sync-runs", params={"kind": "forward"})).json()["runs"]
        errors = [e for run in runs for e in run["errors"]]
        if errors:
            break
        await asyncio.sleep(0.1)
    [error] = errors
    assert error["code"] == ErrorCode.XERO_TOTALS_DIFFER
    assert error["record"] == invoice_id
    assert error["details"]["Total"] == {"xero": "0.34", "phone": "0.35", "difference": "-0.01"}
    await phone.refresh()
    on_phone = msgspec.json.decode(phone.store.record("invoice", invoice_id) or b"", type=Invoice)
    assert on_phone.sync is not None
    assert on_phone.sync.state == "in_xero"
    assert on_phone.sync.message.startswith("Xero's totals differ from the phone's")
