"""Xero's wire format: `/Date(ms+0000)/` dates, exact decimals, JSON in and out."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import msgspec

_MSDATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
# Money is decoded as Decimal (never float) and encoded as bare JSON numbers, as Xero sends them.
_decoder = msgspec.json.Decoder(float_hook=Decimal)
_encoder = msgspec.json.Encoder(decimal_format="number")

TWO_DP = Decimal("0.01")
FOUR_DP = Decimal("0.0001")


class WireError(ValueError):
    """The request body or a value in it is not what Xero would accept."""


def decode_json(body: bytes) -> Any:
    try:
        return _decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise WireError(str(exc)) from exc


def encode_json(value: Any) -> bytes:
    return _encoder.encode(value)


def msdate(moment: datetime) -> str:
    """`/Date(1573755038314+0000)/` - Xero's timestamp format in JSON."""
    millis = int(moment.astimezone(UTC).timestamp() * 1000)
    return f"/Date({millis}+0000)/"


def envelope_msdate(moment: datetime) -> str:
    """The envelope's `DateTimeUTC`: `/Date(1573755038314)/`, without the offset record dates carry."""
    millis = int(moment.astimezone(UTC).timestamp() * 1000)
    return f"/Date({millis})/"


def msdate_of_day(day: date) -> str:
    return msdate(datetime.combine(day, time(), UTC))


def iso_day(day: date) -> str:
    """The `DateString` companion Xero sends beside dates: `2024-03-01T00:00:00`."""
    return f"{day.isoformat()}T00:00:00"


def parse_datetime(text: str) -> datetime:
    """Accept both `/Date(ms+zzzz)/` and ISO 8601 (date or date-time), as Xero does."""
    match = _MSDATE.match(text.strip())
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise WireError(f"'{text}' is not a valid date") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_day(value: Any) -> date:
    if not isinstance(value, str):
        raise WireError(f"'{value}' is not a valid date")
    return parse_datetime(value).date()


def parse_decimal(value: Any) -> Decimal:
    """Numbers arrive as Decimal (float_hook) or int, sometimes as strings from lax clients."""
    if isinstance(value, bool):
        raise WireError(f"'{value}' is not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation as exc:
            raise WireError(f"'{value}' is not a number") from exc
    raise WireError(f"'{value}' is not a number")


def parse_bool(text: str | None, default: bool = False) -> bool:
    """Query booleans in any case: `true`, `True`, `FALSE`."""
    if text is None or text == "":
        return default
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise WireError(f"'{text}' is not a boolean")


def money(amount: Decimal) -> Decimal:
    """Amounts go out with two decimal places (`115.00`)."""
    return amount.quantize(TWO_DP, rounding=ROUND_HALF_UP)


def unit_amount(amount: Decimal, unitdp: int) -> Decimal:
    return amount.quantize(FOUR_DP if unitdp == 4 else TWO_DP, rounding=ROUND_HALF_UP)
