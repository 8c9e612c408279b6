"""Xero's dates: the .NET JSON form ``/Date(ms±hhmm)/`` and the ISO strings it sends beside them.

In ``/Date(1574275974000+1300)/`` the milliseconds are the UTC instant; the offset only says in
which zone the value was written. We keep both: the instant exactly, the offset as the tzinfo.
Negative epochs (before 1970) occur for old dates; the offset is optional.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_MSDATE = re.compile(r"^/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class DateFormatError(ValueError):
    """A value that is neither ``/Date(...)/`` nor ISO 8601."""


def parse(text: str) -> datetime:
    """An aware datetime for any date form Xero sends; naive ISO values are taken as UTC."""
    value = text.strip()
    match = _MSDATE.match(value)
    if match:
        zone: timezone = UTC
        if match["offset"]:
            sign = -1 if match["offset"][0] == "-" else 1
            hours, minutes = int(match["offset"][1:3]), int(match["offset"][3:5])
            zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        # timedelta arithmetic, not fromtimestamp: exact for negative epochs and on every platform.
        instant = _EPOCH + timedelta(milliseconds=int(match["ms"]))
        return instant.astimezone(zone)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DateFormatError(f"{text!r} is not a Xero date") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_msdate(moment: datetime) -> str:
    """``/Date(ms±hhmm)/`` for an aware datetime (sub-millisecond precision is dropped)."""
    if moment.tzinfo is None:
        raise ValueError("Xero dates must be aware datetimes")
    delta = moment - _EPOCH
    millis = (delta.days * 86_400_000) + (delta.seconds * 1000) + (delta.microseconds // 1000)
    offset = moment.utcoffset() or timedelta(0)
    total = int(offset.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total), 60)
    return f"/Date({millis}{sign}{hours:02d}{minutes:02d})/"


def http_date(moment: datetime) -> str:
    """The ``If-Modified-Since`` header value: ISO 8601 UTC to the second (what Xero's SDKs send)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
