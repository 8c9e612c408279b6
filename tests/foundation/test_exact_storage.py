"""Money keeps every digit and time keeps its zone, on SQLite and PostgreSQL alike."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from server.db.database import Database
from server.db.types import ExactDecimal, UTCDateTime

metadata = MetaData()
ledger = Table(
    "test_exact_values",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("amount", ExactDecimal(4)),
    Column("at", UTCDateTime()),
)


@pytest.fixture
async def db(database: Database) -> AsyncIterator[Database]:
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)


async def roundtrip(db: Database, amount: Decimal) -> Decimal:
    async with db.transaction() as session:
        row_id = (
            await session.execute(insert(ledger).values(amount=amount).returning(ledger.c.id))
        ).scalar_one()
    async with db.sessions() as session:
        stored: Decimal = (
            await session.execute(select(ledger.c.amount).where(ledger.c.id == row_id))
        ).scalar_one()
    return stored


@pytest.mark.parametrize(
    "amount",
    [
        Decimal("12345678901234.5678"),
        Decimal("0.1") + Decimal("0.2"),
        Decimal("-987654321.0001"),
        Decimal("0"),
        Decimal("-0.0001"),
    ],
)
async def test_money_round_trips_exactly(db: Database, amount: Decimal) -> None:
    stored = await roundtrip(db, amount)
    assert stored == amount
    assert isinstance(stored, Decimal)


async def test_sum_of_tenths_is_exact_not_float(db: Database) -> None:
    assert await roundtrip(db, Decimal("0.1") + Decimal("0.2")) == Decimal("0.3")


async def test_money_with_more_places_than_the_column_keeps_is_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="more than 4 decimal places"):
        await roundtrip(db, Decimal("1.00001"))


async def test_float_money_is_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="never a float"):
        await roundtrip(db, 0.1)  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amount=st.decimals(
        min_value=Decimal("-99999999999999.9999"),
        max_value=Decimal("99999999999999.9999"),
        places=4,
        allow_nan=False,
        allow_infinity=False,
    )
)
async def test_any_four_place_amount_round_trips(db: Database, amount: Decimal) -> None:
    assert await roundtrip(db, amount) == amount


async def test_timestamps_come_back_aware_and_in_utc(db: Database) -> None:
    auckland = timezone(timedelta(hours=13))
    moment = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=auckland)
    async with db.transaction() as session:
        row_id = (await session.execute(insert(ledger).values(at=moment).returning(ledger.c.id))).scalar_one()
    async with db.sessions() as session:
        stored = (await session.execute(select(ledger.c.at).where(ledger.c.id == row_id))).scalar_one()
    assert stored == moment
    assert stored.tzinfo == UTC


async def test_naive_timestamps_are_refused(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(StatementError, match="timezone-aware"):
            await session.execute(insert(ledger).values(at=datetime(2026, 1, 1)))
