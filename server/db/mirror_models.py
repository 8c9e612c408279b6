"""Tables of the Xero connection and the mirror: tokens, pending OAuth states, mirrored records,
pull cursors, leases and the sync log. Every row below an organisation carries ``organisation_id``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base
from server.db.types import utcnow


class XeroConnection(Base):
    """An organisation's link to its Xero tenant, with its tokens (AES-GCM, bound to this row's id).

    ``token_version`` goes up with every refresh: a refresher that saw version n and finds n+1
    under the row lock knows someone else already rotated the refresh token and uses theirs.
    """

    __tablename__ = "xero_connections"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), unique=True
    )
    # Several organisations may mirror one tenant (each its own mirror, feed and ids).
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    tenant_name: Mapped[str] = mapped_column(String(255), default="")
    # Xero's connection is one per (Xero user, tenant) for this app: organisations connected by
    # the same Xero user to the same tenant share it, so only the last of them may delete it.
    xero_connection_id: Mapped[str] = mapped_column(String(64), default="")
    # The Xero user who consented (the access token's ``xero_userid``): revoking a grant removes
    # every connection of that user, so it is not revoked while another organisation uses one.
    xero_user_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    status: Mapped[str] = mapped_column(String(32), default="connected")  # connected | needs_reconnect
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    access_token: Mapped[bytes] = mapped_column(LargeBinary)
    refresh_token: Mapped[bytes] = mapped_column(LargeBinary)
    access_expires_at: Mapped[datetime]
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    scopes: Mapped[str] = mapped_column(String(1000), default="")
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class XeroOAuthState(Base):
    """A connect flow in progress: the ``state`` sent to Xero, its PKCE verifier (encrypted), the
    organisation it is for; after the callback, when the admin must pick among several tenants, the
    token response (encrypted) and the tenants on offer."""

    __tablename__ = "xero_oauth_states"

    state: Mapped[str] = mapped_column(String(128), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    code_verifier: Mapped[bytes] = mapped_column(LargeBinary)
    tokens: Mapped[bytes | None] = mapped_column(LargeBinary)
    tenants: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    expires_at: Mapped[datetime]


class MirrorRecord(Base):
    """One Xero record as last pulled: ``id`` is its ledgersync id (the feed's entity_id), ``payload``
    the wire entity it maps to (compared byte for byte to tell a real change from a re-fetch).

    ``removed`` marks a record that is archived, deleted or vanished in Xero (its feed row is a
    tombstone). Phones' own customers get linked by inserting a row with their id and the
    ``xero_id`` Xero gave them.

    Keyed like the feed, within the organisation: two organisations mirroring one tenant, or
    phones of two organisations choosing the same ids, never meet.
    """

    __tablename__ = "mirror_records"
    __table_args__ = (
        PrimaryKeyConstraint("organisation_id", "kind", "id"),
        UniqueConstraint("organisation_id", "kind", "xero_id"),
        Index("ix_mirror_records_xero_id", "xero_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    # The tenant the record came from: connecting the organisation to another tenant retires them.
    tenant_id: Mapped[str] = mapped_column(String(64))
    # tax_rate | customer | product | account | organisation | tracking_category | tracking_option |
    # branding_theme
    kind: Mapped[str] = mapped_column(String(32))
    xero_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    removed: Mapped[bool] = mapped_column(default=False)
    xero_updated_at: Mapped[datetime | None]
    pulled_at: Mapped[datetime] = mapped_column(default=utcnow)


class MirrorCursor(Base):
    """Per organisation and kind: the high-water mark of Xero's UpdatedDateUTC, the last full pull."""

    __tablename__ = "mirror_cursors"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    modified_since: Mapped[datetime | None]
    last_full_at: Mapped[datetime | None]


class Lease(Base):
    """A named lease held by one process until ``expires_at`` (pull of an organisation, the scheduler).

    Taken with one atomic ``UPDATE … WHERE expires_at < now OR holder = me``; a crashed holder's
    lease simply lapses.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    holder: Mapped[str] = mapped_column(String(100), default="")
    expires_at: Mapped[datetime]


class SyncRun(Base):
    """One entry of the sync log: a mirror pull, a forwarding run or a settings change.

    For a forwarding run ``created``/``updated``/``deleted`` count records created, updated and
    voided/deleted in Xero, ``fetched`` the items it took; ``errors`` name each failed item. A
    settings change has ``actor`` and ``details`` (``{"changes": [{"field", "from", "to"}]}``).
    """

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_organisation_id_started_at", "organisation_id", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | manual | webhook | connect
    types: Mapped[str] = mapped_column(String(100))  # comma-separated data types
    # running | succeeded | failed | interrupted (its owner died: the run's lease lapsed)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    xero_calls: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    kind: Mapped[str] = mapped_column(String(16), default="pull", server_default="pull")
    actor: Mapped[str] = mapped_column(String(320), default="", server_default="")
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # While running: the owner renews this with its lease; a running run past it lost its owner.
    expires_at: Mapped[datetime | None]


class XeroWebhookEvent(Base):
    """One event of a Xero webhook delivery, kept until the webhook worker has pulled what it names.

    Recorded by the receiver in the request (nothing else happens there: Xero wants an answer within
    5 s); ``processed_at`` is set once a pull of the tenant's organisations started after it. Xero
    retries a delivery it got no 200 for, with the same events: the unique key makes the retry a
    no-op, so a delivery is processed once. Keyed by tenant, not organisation: one tenant may feed
    several organisations, resolved when the events are pulled.
    """

    __tablename__ = "xero_webhook_events"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "category",
            "resource_id",
            "event_type",
            "event_date",
            name="uq_xero_webhook_events_event",
        ),
        Index("ix_xero_webhook_events_processed_at_tenant_id", "processed_at", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(16))  # CONTACT | INVOICE (others are ignored)
    resource_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(16))  # CREATE | UPDATE
    event_date: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class DuePull(Base):
    """A pull waiting for a process to run it: one row per organisation, oldest ``due_at`` first.

    Claimed like forwarding's uploads (``FOR UPDATE SKIP LOCKED``, a claim that lapses at
    ``claim_expires_at``) by any process's pull workers, ``server/mirror/pull_queue.py``.
    """

    __tablename__ = "due_pulls"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    trigger: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(index=True)
    claimed_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    claim_expires_at: Mapped[datetime | None]
