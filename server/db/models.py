"""Tables. Every row below the organisation is scoped by ``organisation_id``.

The schema changes only through Alembic migrations (``server/migrations``); a test checks that
these models and the migrations agree.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.db.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class Organisation(Base):
    """A business using ledgersync; later bound to one Xero tenant."""

    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Admin(Base):
    """A person who runs one organisation's ledgersync: connects Xero, sets options, reads logs."""

    __tablename__ = "admins"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminSession(Base):
    """A signed-in admin. Only a SHA-256 of the session token is stored."""

    __tablename__ = "admin_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    admin_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class SyncRecord(Base):
    """The latest state of one record as phones see it: the change feed.

    One row per (organisation, entity, id), not one per change: an edit replaces the row and
    stamps it with a new version, so the feed never grows with edits. A deleted record stays as
    a tombstone (``payload`` NULL) until tombstones older than the retention horizon are purged.
    """

    __tablename__ = "sync_records"
    __table_args__ = (
        UniqueConstraint("organisation_id", "version"),
        # Tombstones only: what the scheduled purge looks for (``feed.purge_tombstones``).
        Index(
            "ix_sync_records_tombstones",
            "organisation_id",
            "changed_at",
            postgresql_where=text("payload IS NULL"),
            sqlite_where=text("payload IS NULL"),
        ),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    entity: Mapped[str] = mapped_column(String(32), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    # The version at which the record last appeared (created, or re-created after a tombstone): a
    # client whose cursor is below it has never seen this incarnation (WatermelonDB's `created`).
    created_version: Mapped[int] = mapped_column(BigInteger)
    # The record's wire form, already encoded as JSON: a pull joins these bytes, it never re-encodes.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncRecordEarlier(Base):
    """What a customer or invoice was before an edit replaced it: its payload until ``replaced_at``.

    Only edits of what phones edit are kept (a change of the ``sync`` stamps alone is not), for as long
    as tombstones are. A WatermelonDB app cannot send the record it edited from (its *base*), so the
    server reads it here: the record as of the app's cursor (``feed.payload_as_of``).
    """

    __tablename__ = "sync_record_earlier"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    entity: Mapped[str] = mapped_column(String(32), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The feed version of the change that replaced ``payload``.
    replaced_at: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SyncCounter(Base):
    """Per organisation: the last version handed out, and the oldest cursor still served.

    Writers bump ``version`` with an UPDATE inside their own transaction; the row lock that takes
    is held until they commit, so versions become visible in the order they were given (see
    ``server.core.feed``).
    """

    __tablename__ = "sync_counters"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    # Cursors below this cannot be served incrementally (tombstones purged, or the mirror reset).
    horizon: Mapped[int] = mapped_column(BigInteger, default=0)


# The mobile side's and the mirror's tables live in modules of their own; imported here so that
# Alembic and create_all see them.
from server.db import (  # noqa: E402, F401
    admin_models,
    forwarding_models,
    limit_models,
    mirror_models,
    sync_models,
    watermelon_models,
)
