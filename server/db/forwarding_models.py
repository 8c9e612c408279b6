"""Per-organisation choices of how uploads are forwarded to Xero (set by admins)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, Uuid, false, true
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
    update_products: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Phones may ask Xero to email an invoice to its customer (``email_invoice``). Off by default:
    # an email reaches someone outside the business, so an admin turns it on.
    email_invoices: Mapped[bool] = mapped_column(default=False, server_default=false())
    forward_invoice_edits: Mapped[bool] = mapped_column(default=True)
    invoice_status: Mapped[str] = mapped_column(String(16), default="AUTHORISED")  # DRAFT | AUTHORISED
    # Minutes between scheduled mirror pulls of this organisation; None: the server's setting.
    sync_interval_minutes: Mapped[int | None] = mapped_column(Integer)
    # A field both a phone and Xero changed (server/core/merge.py): "xero" keeps Xero's value,
    # "phone" takes the phone's.
    conflict_policy: Mapped[str] = mapped_column(String(8), default="xero", server_default="xero")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")


class EditConflict(Base):
    """A field a phone's edit and a Xero user both changed, and how it was resolved.

    ``phone_value`` and ``xero_value`` are JSON (a string, or an address object / null).
    ``resolution``: ``xero`` (Xero's value kept) or ``phone`` (the phone's sent); ``applied_at``:
    when an admin applied the phone's value afterwards.
    """

    __tablename__ = "edit_conflicts"
    __table_args__ = (Index("ix_edit_conflicts_organisation_id_id", "organisation_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    entity: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(64))
    upload_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("uploads.id", ondelete="SET NULL")
    )
    field: Mapped[str] = mapped_column(String(64))
    phone_value: Mapped[str] = mapped_column(Text)
    xero_value: Mapped[str] = mapped_column(Text)
    resolution: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]
    applied_by: Mapped[str] = mapped_column(String(320), default="", server_default="")
