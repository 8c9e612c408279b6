"""What the Conflicts page calls each conflict's record, in the office's words: the customer's name, or
the invoice's number and customer (the record id only when the record is gone)."""

from __future__ import annotations

import uuid

from server.core.current import current_records
from server.db.database import Database
from server.forwarding.conflicts import ConflictView
from sync_protocol.entities import Customer, Invoice


async def conflict_names(
    database: Database, organisation_id: uuid.UUID, conflicts: list[ConflictView]
) -> dict[int, str]:
    """Each conflict's record's name, by conflict id."""
    names: dict[int, str] = {}
    async with database.sessions() as session:
        records = current_records(session, organisation_id)
        for conflict in conflicts:
            name = conflict.record_id
            if conflict.entity == "customer":
                customer = await records.record(Customer, conflict.record_id)
                name = customer.name if customer is not None else name
            elif conflict.entity == "invoice":
                invoice = await records.record(Invoice, conflict.record_id)
                if invoice is not None:
                    customer = await records.record(Customer, invoice.customer_id)
                    name = f"Invoice {invoice.invoice_number or '(no number yet)'}" + (
                        f" ({customer.name})" if customer is not None else ""
                    )
            names[conflict.id] = name
    return names
