"""Due dates from payment terms, as Xero's UI computes them (``sync_protocol.terms``)."""

from __future__ import annotations

from datetime import date

import pytest

from sync_protocol.terms import PaymentTerm, PaymentTermType, due_date


@pytest.mark.parametrize(
    ("invoice_date", "day", "type_", "expected"),
    [
        # days after the invoice date
        (date(2026, 3, 10), 7, "DAYSAFTERBILLDATE", date(2026, 3, 17)),
        (date(2026, 12, 20), 20, "DAYSAFTERBILLDATE", date(2027, 1, 9)),
        (date(2026, 3, 10), 0, "DAYSAFTERBILLDATE", date(2026, 3, 10)),
        # days after the end of the invoice's month
        (date(2026, 3, 10), 20, "DAYSAFTERBILLMONTH", date(2026, 4, 20)),
        (date(2026, 2, 3), 1, "DAYSAFTERBILLMONTH", date(2026, 3, 1)),
        (date(2026, 12, 31), 0, "DAYSAFTERBILLMONTH", date(2026, 12, 31)),
        # a day of the invoice's month
        (date(2026, 3, 10), 20, "OFCURRENTMONTH", date(2026, 3, 20)),
        (date(2026, 4, 10), 31, "OFCURRENTMONTH", date(2026, 4, 30)),
        (date(2028, 2, 10), 31, "OFCURRENTMONTH", date(2028, 2, 29)),
        # a day of the following month
        (date(2026, 3, 10), 20, "OFFOLLOWINGMONTH", date(2026, 4, 20)),
        (date(2026, 12, 15), 20, "OFFOLLOWINGMONTH", date(2027, 1, 20)),
        (date(2026, 1, 31), 31, "OFFOLLOWINGMONTH", date(2026, 2, 28)),
        (date(2026, 1, 31), 0, "OFFOLLOWINGMONTH", date(2026, 2, 1)),
    ],
)
def test_the_due_date_follows_the_terms_type(
    invoice_date: date, day: int, type_: PaymentTermType, expected: date
) -> None:
    assert due_date(invoice_date, PaymentTerm(day=day, type=type_)) == expected
