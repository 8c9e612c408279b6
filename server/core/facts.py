"""Xero's own view of forwarded invoices (paid, voided, amounts) brought back to phones."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from server.core import outbox
from server.core.fate import InvoiceFacts, record_invoices_facts
from server.db.database import Database


async def apply_invoice_facts(
    database: Database, organisation_id: uuid.UUID, facts_by_xero_id: Mapping[str, InvoiceFacts]
) -> int:
    """Xero's status and amounts for the forwarded invoices among ``facts_by_xero_id``.

    An invoice with an upload still on its way (a local payment, an edit) keeps the phone's view
    until that upload is settled. Returns how many records phones see change.
    """
    if not facts_by_xero_id:
        return 0
    async with database.transaction() as session:
        by_xero_id = await outbox.forwarded_invoices(session, organisation_id)
        wanted = {
            xero_id: record_id
            for xero_id in facts_by_xero_id
            if (record_id := by_xero_id.get(xero_id.lower())) is not None
        }
        pending = await outbox.pending_invoice_uploads(session, organisation_id, wanted.values())
        settled = {x: r for x, r in wanted.items() if r not in pending}
        return await record_invoices_facts(
            session, organisation_id, [(record_id, facts_by_xero_id[x]) for x, record_id in settled.items()]
        )
