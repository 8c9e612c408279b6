"""Tables of the WatermelonDB adapter (``server/watermelon/adapter.py``).

WatermelonDB keeps invoice lines as rows of their own, with ids the app chose; the feed's
invoice carries its lines as a list without ids. ``watermelon_invoice_lines`` remembers which
line id sits at which position of which invoice, so a pull hands the app back the ids it pushed
(and names the ones an edit removed), and when each line joined its invoice and from which device,
so a device that never had a line gets it as ``created``. It is written in the push's transaction,
next to the feed.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base


class WatermelonInvoiceLine(Base):
    """One line id an app pushed. ``position`` NULL: the line was removed from its invoice.

    ``created_version``: the invoice's feed version when the line (last) joined it; ``device_id``: the
    device that pushed it then. Both NULL for lines stored before they were recorded.
    """

    __tablename__ = "watermelon_invoice_lines"
    __table_args__ = (Index("ix_watermelon_invoice_lines_invoice", "organisation_id", "invoice_id"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int | None] = mapped_column(Integer)
    created_version: Mapped[int | None] = mapped_column(BigInteger)
    device_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class WatermelonPull(Base):
    """A device's last WatermelonDB pull: from which cursor to which.

    An app's edits pushed with ``last_pulled_at = pulled_to`` were made before that pull at the
    latest, from the records as of ``pulled_from`` (WatermelonDB's pull keeps the app's changed
    columns over what it brings): that is the base their push is judged against.
    """

    __tablename__ = "watermelon_pulls"

    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    pulled_from: Mapped[int] = mapped_column(BigInteger)
    pulled_to: Mapped[int] = mapped_column(BigInteger)


class WatermelonRecordBase(Base):
    """What a device's copy of a record it pushed is as of, when its last pull does not say.

    ``pending``: an edit the server did not take (the push got 409 ``push_conflict``, or the record was
    rejected) was made from the record as of ``base_cursor``; the app keeps the edit and pushes it again
    after pulls that bring the server's changes, and the re-push is judged against this base, not against
    what those pulls brought. Otherwise the device's edit was applied at feed version ``base_cursor``:
    its copy is the record as of then (its own edit included) or as of a later pull.
    """

    __tablename__ = "watermelon_record_bases"

    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    entity: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    base_cursor: Mapped[int] = mapped_column(BigInteger)
    pending: Mapped[bool] = mapped_column(Boolean)
