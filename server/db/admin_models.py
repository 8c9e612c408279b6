"""Tables of the admin console: failed sign-ins, for the lockout."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base
from server.db.types import utcnow


class SignInFailure(Base):
    """Consecutive failed sign-ins of one email from one address, and until when it is locked out.

    Keyed by email and client address, not by account alone: someone guessing an admin's password
    from elsewhere cannot lock the admin out of their own desk. The row goes on a successful sign-in.
    The email need not belong to an admin (unknown emails are throttled alike, revealing nothing).
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (UniqueConstraint("email", "source"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(64))  # the client's IP address
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
