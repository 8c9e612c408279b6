"""Uploads in business terms: which customer, invoice number, total, what a payment pays, who sent it.

The console names an upload the way the office does ("Invoice INV-0042 · Acme Plumbing · $120.00,
from Sam Field's phone"), not by record ids. The words come from the upload as the phone sent it
(its stored request) and the records as phones have them now (customer names, invoice numbers that
Xero gave after the upload), read in one batch per page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from sqlalchemy import select

from server.core.current import current_records
from server.db.database import Database
from server.db.sync_models import Device, Upload
from server.forwarding.outbox_admin import UploadView
from sync_protocol.entities import Customer, Invoice, Payment


@dataclass(frozen=True)
class UploadFacts:
    customer: str = ""
    invoice_number: str = ""
    total: Decimal | None = None  # an invoice's total, a payment's amount
    currency: str = ""
    # A payment's (or a void's) invoice, in words: "INV-0042 (Acme Plumbing)".
    pays: str = ""
    pays_record: str = ""
    staff: str = ""
    device: str = ""
    when: datetime | None = None

    def searchable(self) -> str:
        return " ".join((self.customer, self.invoice_number, self.pays, self.staff, self.device)).lower()


def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _request(row_request: bytes) -> dict[str, Any]:
    # Loosely: a stored edit carries its base and changed fields besides the draft.
    try:
        decoded = msgspec.json.decode(row_request)
    except msgspec.DecodeError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


async def facts_of(
    database: Database, organisation_id: uuid.UUID, views: list[UploadView]
) -> dict[int, UploadFacts]:
    """The business words of each upload in ``views``, by upload id."""
    if not views:
        return {}
    ids = [view.id for view in views]
    async with database.sessions() as session:
        rows = await session.execute(
            select(Upload.id, Upload.request, Device.staff_name, Device.device_name)
            .outerjoin(Device, Device.id == Upload.device_id)
            .where(Upload.organisation_id == organisation_id, Upload.id.in_(ids))
        )
        found = {row[0]: (_request(row[1]), row[2] or "", row[3] or "") for row in rows}
        records = current_records(session, organisation_id)
        # First the invoices (uploaded and paid ones), then the customers they name.
        invoice_ids: set[str] = set()
        customer_ids: set[str] = set()
        for view in views:
            request = found.get(view.id, ({}, "", ""))[0]
            if view.entity == "invoice":
                invoice_ids.add(view.record_id)
                customer_ids.add(str((request.get("invoice") or {}).get("customer_id") or ""))
            elif view.entity == "payment":
                invoice_ids.add(str((request.get("payment") or {}).get("invoice_id") or ""))
            elif view.entity == "customer":
                customer_ids.add(view.record_id)
        invoice_ids.discard("")
        await records.load([("invoice", i) for i in invoice_ids] + [("payment", v.record_id) for v in views])
        for invoice_id in invoice_ids:
            invoice = await records.record(Invoice, invoice_id)
            if invoice is not None:
                customer_ids.add(invoice.customer_id)
        customer_ids.discard("")
        await records.load([("customer", c) for c in customer_ids])

        async def customer_name(customer_id: str) -> str:
            customer = await records.record(Customer, customer_id) if customer_id else None
            return customer.name if customer is not None else ""

        async def invoice_words(invoice_id: str) -> tuple[str, str]:
            invoice = await records.record(Invoice, invoice_id) if invoice_id else None
            if invoice is None:
                return "", ""
            return invoice.invoice_number, await customer_name(invoice.customer_id)

        facts: dict[int, UploadFacts] = {}
        for view in views:
            request, staff, device = found.get(view.id, ({}, "", ""))
            base = UploadFacts(staff=staff, device=device, when=view.created_at)
            if view.entity == "customer":
                draft = request.get("customer") or {}
                name = await customer_name(view.record_id) or str(draft.get("name") or "")
                facts[view.id] = replace(base, customer=name)
            elif view.entity == "invoice" and view.kind == "upsert_invoice":
                draft = request.get("invoice") or {}
                number, name = await invoice_words(view.record_id)
                current = await records.record(Invoice, view.record_id)
                facts[view.id] = replace(
                    base,
                    customer=name or await customer_name(str(draft.get("customer_id") or "")),
                    invoice_number=number or view.xero_number,
                    total=current.total if current is not None else _money(draft.get("total")),
                    currency=current.currency if current is not None else "",
                )
            elif view.entity == "invoice":  # a void
                number, name = await invoice_words(view.record_id)
                facts[view.id] = replace(base, customer=name, invoice_number=number or view.xero_number)
            elif view.entity == "payment":
                draft = request.get("payment") or {}
                payment = await records.record(Payment, view.record_id)
                invoice_id = payment.invoice_id if payment is not None else str(draft.get("invoice_id") or "")
                number, name = await invoice_words(invoice_id)
                facts[view.id] = replace(
                    base,
                    customer=name,
                    total=payment.amount if payment is not None else _money(draft.get("amount")),
                    pays=f"{number or 'an invoice not in Xero yet'}" + (f" ({name})" if name else ""),
                    pays_record=invoice_id,
                )
            else:
                facts[view.id] = base
        return facts
