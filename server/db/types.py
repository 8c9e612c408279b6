"""Column types that keep money exact and time in UTC on every engine.

SQLite has no exact decimal type (NUMERIC is stored as a float and loses cents), so money is
kept as a scaled integer: ``ExactDecimal(4)`` stores ``Decimal("12.3456")`` as ``123456``.
A BIGINT of 10^-4 units holds ±922 trillion, far beyond any invoice. A value with more
fractional digits than the column keeps is refused rather than silently rounded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class InexactMoneyError(ValueError):
    """A decimal has more fractional digits than its column keeps."""


class ExactDecimal(TypeDecorator[Decimal]):
    """A ``Decimal`` stored as an integer count of 10^-scale units."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int = 4) -> None:
        super().__init__()
        self.scale = scale
        self._factor = Decimal(10) ** scale

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            if isinstance(value, float):
                raise TypeError("money must be a Decimal, never a float")
            value = Decimal(value)
        scaled = value * self._factor
        if scaled != scaled.to_integral_value():
            raise InexactMoneyError(f"{value} has more than {self.scale} decimal places")
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / self._factor).quantize(Decimal(1).scaleb(-self.scale))

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored and returned in UTC on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware datetimes")
        in_utc = value.astimezone(UTC)
        # SQLite keeps text; a fixed naive-UTC form sorts and compares correctly there.
        return in_utc.replace(tzinfo=None) if dialect.name == "sqlite" else in_utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        return datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
