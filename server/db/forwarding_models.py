"""Per-organisation choices of how uploads are forwarded to Xero (set by admins)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base
from server.db.types import utcnow


class ForwardingSettings(Base):
    """One row per organisation; an organisation without a row has the defaults below."""

    __tablename__ = "forwarding_settings"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    # Codes of mirrored accounts: where payments go, what invoice lines without an account post to.
    bank_account_code: Mapped[str | None] = mapped_column(String(50))
    revenue_account_code: Mapped[str | None] = mapped_column(String(50))
    forward_payments: Mapped[bool] = mapped_column(default=True)
    update_customers: Mapped[bool] = mapped_column(default=True)
    forward_invoice_edits: Mapped[bool] = mapped_column(default=True)
    invoice_status: Mapped[str] = mapped_column(String(16), default="AUTHORISED")  # DRAFT | AUTHORISED
    # Minutes between scheduled mirror pulls of this organisation; None: the server's setting.
    sync_interval_minutes: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")
