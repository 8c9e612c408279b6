"""Payment terms and the due date they give an invoice, as Xero's own UI computes it.

Xero's API does not apply payment terms itself: an approved invoice needs a ``DueDate``, so a
client that leaves it out must work it out. Xero's UI takes the customer's sales terms, else the
organisation's (``PaymentTerms.Sales`` on the Contact and on the Organisation), and:

- ``DAYSAFTERBILLDATE``: ``day`` days after the invoice date;
- ``DAYSAFTERBILLMONTH``: ``day`` days after the end of the invoice's month;
- ``OFCURRENTMONTH``: the ``day``-th of the invoice's month;
- ``OFFOLLOWINGMONTH``: the ``day``-th of the month after it.

A ``day`` past the month's end is its last day (the 31st of February is the 28th or 29th); Xero
takes 1 to 31 for the month types, and a smaller ``day`` counts as the 1st.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Literal

import msgspec

PaymentTermType = Literal["DAYSAFTERBILLDATE", "DAYSAFTERBILLMONTH", "OFCURRENTMONTH", "OFFOLLOWINGMONTH"]
TERM_TYPES: tuple[PaymentTermType, ...] = (
    "DAYSAFTERBILLDATE",
    "DAYSAFTERBILLMONTH",
    "OFCURRENTMONTH",
    "OFFOLLOWINGMONTH",
)


class PaymentTerm(msgspec.Struct, kw_only=True, frozen=True):
    """Xero's ``Bill`` of ``PaymentTerms``: a day and what it counts from."""

    day: int
    type: PaymentTermType


def _day_of(year: int, month: int, day: int) -> date:
    return date(year, month, min(max(day, 1), calendar.monthrange(year, month)[1]))


def due_date(invoice_date: date, term: PaymentTerm) -> date:
    """The due date Xero's UI gives an invoice of ``invoice_date`` under ``term``."""
    if term.type == "DAYSAFTERBILLDATE":
        return invoice_date + timedelta(days=term.day)
    year, month = invoice_date.year, invoice_date.month
    if term.type == "DAYSAFTERBILLMONTH":
        month_end = date(year, month, calendar.monthrange(year, month)[1])
        return month_end + timedelta(days=term.day)
    if term.type == "OFCURRENTMONTH":
        return _day_of(year, month, term.day)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return _day_of(next_year, next_month, term.day)
