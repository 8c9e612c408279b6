"""Xero's limits as every process shares them (PostgreSQL): one row per tenant, one per recent call.

``server/xero_link/shared_limits.py`` reads and writes these; SQLite deployments (one process) never
touch them. Keyed by Xero's tenant id, as Xero counts: two organisations bound to one tenant share it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base


class XeroTenantLimit(Base):
    """A tenant's state between calls: a 429's pause, Xero's daily count. Its row lock orders admissions."""

    __tablename__ = "xero_tenant_limits"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused_until: Mapped[datetime | None]
    # Xero's X-DayLimit-Remaining as last answered, less the calls admitted since (None: not known yet).
    day_remaining: Mapped[int | None] = mapped_column(Integer)


class XeroCallSlot(Base):
    """One call to Xero: in flight until ``ends_at`` (its lease, so a killed process's slots lapse),
    then, ``finished``, counted in the rolling minute from ``ends_at``; purged a few minutes later."""

    __tablename__ = "xero_call_slots"
    __table_args__ = (
        Index("ix_xero_call_slots_tenant_id_ends_at", "tenant_id", "ends_at"),
        Index("ix_xero_call_slots_ends_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    finished: Mapped[bool] = mapped_column(Boolean, default=False)
