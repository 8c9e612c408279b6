"""Xero's /Date(...)/ form in all its shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.xero import dates, wire

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
instants = st.datetimes(
    min_value=datetime(1800, 1, 2), max_value=datetime(2200, 1, 1), timezones=offsets
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@given(instants)
def test_msdate_round_trips_instant_and_offset(moment: datetime) -> None:
    parsed = dates.parse(dates.format_msdate(moment))

    assert parsed == moment
    assert parsed.utcoffset() == moment.utcoffset()


def test_offset_form_keeps_the_utc_instant_of_the_milliseconds() -> None:
    parsed = dates.parse("/Date(1574275974000+1300)/")

    assert parsed.astimezone(UTC) == datetime(2019, 11, 20, 18, 52, 54, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(hours=13)


def test_negative_epoch_is_before_1970() -> None:
    assert dates.parse("/Date(-86400000)/") == datetime(1969, 12, 31, tzinfo=UTC)


def test_form_without_offset_is_utc() -> None:
    assert dates.parse("/Date(0)/") == datetime(1970, 1, 1, tzinfo=UTC)


def test_iso_strings_without_zone_are_taken_as_utc() -> None:
    assert dates.parse("2024-03-01T00:00:00") == datetime(2024, 3, 1, tzinfo=UTC)


def test_garbage_is_refused() -> None:
    with pytest.raises(dates.DateFormatError):
        dates.parse("/Date(abc)/")


def test_wire_records_decode_dates_and_exact_decimals() -> None:
    body = b'{"TaxRates": [{"TaxType": "OUTPUT2", "Name": "GST", "EffectiveRate": 15.0000,'
    body += b' "UpdatedDateUTC": "/Date(1574275974000+0000)/"}]}'

    rate = wire.decode(body, wire.TaxRates).tax_rates[0]

    assert rate.effective_rate == Decimal("15.0000")
    assert str(rate.effective_rate) == "15.0000"
    assert rate.updated_date_utc == datetime(2019, 11, 20, 18, 52, 54, tzinfo=UTC)
