"""Xero's own view of forwarded invoices (paid, voided, amounts) brought back to phones."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from server.db.database import Database
from server.sync import outbox
from server.sync.fate import InvoiceFacts, record_invoice_facts


async def apply_invoice_facts(
    database: Database, organisation_id: uuid.UUID, facts_by_xero_id: Mapping[str, InvoiceFacts]
) -> int:
    """Xero's status and amounts for the forwarded invoices among ``facts_by_xero_id``.

    An invoice with an upload still on its way (a local payment, an edit) keeps the phone's view
    until that upload is settled. Returns how many records phones see change.
    """
    if not facts_by_xero_id:
        return 0
    changed = 0
    async with database.transaction() as session:
        by_xero_id = await outbox.forwarded_invoices(session, organisation_id)
        for xero_id, facts in facts_by_xero_id.items():
            record_id = by_xero_id.get(xero_id.lower())
            if record_id is None or await outbox.invoice_has_pending_uploads(
                session, organisation_id, record_id
            ):
                continue
            if await record_invoice_facts(
                session,
                organisation_id,
                record_id,
                status=facts.status,
                amount_paid=facts.amount_paid,
                amount_due=facts.amount_due,
                invoice_number=facts.invoice_number,
            ):
                changed += 1
    return changed
