"""Tables of the mobile side: paired devices, pairing codes, and uploads (the outbox seam).

``uploads`` holds one row per mutation a phone pushed, accepted or rejected, keyed by the
phone's mutation id so a replay finds its original result. Accepted rows are the forwarder's
queue: ``state`` says where each stands, ``upload_dependencies`` says which earlier uploads must
be in Xero first, and ``id`` (increasing) is an order that respects every dependency.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base
from server.db.types import utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_SERIAL = BigInteger().with_variant(Integer(), "sqlite")


class Device(Base):
    """A paired phone of one staff member. Only a SHA-256 of its bearer token is stored."""

    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    staff_name: Mapped[str] = mapped_column(String(255))
    device_name: Mapped[str] = mapped_column(String(255), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # For the admin's devices page: any authenticated request (to the minute), the last pull or push.
    last_seen_at: Mapped[datetime | None]
    last_sync_at: Mapped[datetime | None]


class PairingCode(Base):
    """A one-time, short-lived code an admin hands a staff member to pair their phone."""

    __tablename__ = "pairing_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    staff_name: Mapped[str] = mapped_column(String(255))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Upload(Base):
    """One pushed mutation and, when accepted, its journey to Xero."""

    __tablename__ = "uploads"
    __table_args__ = (
        UniqueConstraint("organisation_id", "mutation_id"),
        Index("ix_uploads_organisation_id_state_id", "organisation_id", "state", "id"),
        Index("ix_uploads_organisation_id_record_id", "organisation_id", "record_id"),
        # Which of a page of pulled records phones uploaded (mirror.store._phone_versions).
        Index("ix_uploads_organisation_id_entity_record_id", "organisation_id", "entity", "record_id"),
    )

    id: Mapped[int] = mapped_column(_SERIAL, primary_key=True, autoincrement=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    mutation_id: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the mutation's canonical JSON: a reused id with other content is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    # The mutation's op (upsert_customer, upsert_invoice, create_payment, void_invoice, delete_payment).
    kind: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(64))
    # See server/core/outbox.py for the states and how an upload moves between them.
    state: Mapped[str] = mapped_column(String(16))
    # The validated mutation as the phone sent it (sync_protocol.messages JSON): what to forward.
    request: Mapped[bytes] = mapped_column(LargeBinary)
    # The MutationResult JSON the push answered: a replay answers the same bytes.
    result: Mapped[bytes] = mapped_column(LargeBinary)
    xero_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str] = mapped_column(String(4000), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # --- forwarding (server/forwarding) ---
    # When a due item may go next (a backoff or a 429's Retry-After); None: now.
    next_attempt_at: Mapped[datetime | None]
    # The worker holding the item while ``forwarding``; a claim that expires was lost to a crash.
    claimed_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    claim_expires_at: Mapped[datetime | None]
    # Set when a send may have reached Xero without us learning the outcome; cleared once known.
    # While set, the next attempt first looks the record up in Xero (reconciliation).
    sent_at: Mapped[datetime | None]
    # Bumped when an admin retries a failed item: a new Idempotency-Key for a deliberate resend.
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The field Xero's validation message concerns (a path into the mutation), when known.
    error_field: Mapped[str] = mapped_column(String(200), default="", server_default="")
    xero_number: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # Xero's own total of a forwarded invoice (minor units as text: exact on both engines).
    xero_total: Mapped[str] = mapped_column(String(40), default="", server_default="")


class UploadDependency(Base):
    """``upload_id`` may be forwarded only after ``depends_on_id`` is in Xero."""

    __tablename__ = "upload_dependencies"

    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True)
    depends_on_id: Mapped[int] = mapped_column(
        ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True, index=True
    )
