"""Tables of the WatermelonDB adapter (``server/sync/watermelon.py``).

WatermelonDB keeps invoice lines as rows of their own, with ids the app chose; the feed's
invoice carries its lines as a list without ids. ``watermelon_invoice_lines`` remembers which
line id sits at which position of which invoice, so a pull hands the app back the ids it pushed
(and names the ones an edit removed). It is written in the push's transaction, next to the feed.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base


class WatermelonInvoiceLine(Base):
    """One line id an app pushed. ``position`` NULL: the line was removed from its invoice."""

    __tablename__ = "watermelon_invoice_lines"
    __table_args__ = (Index("ix_watermelon_invoice_lines_invoice", "organisation_id", "invoice_id"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int | None] = mapped_column(Integer)
