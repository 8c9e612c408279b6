"""Xero's own view of forwarded invoices (paid, voided, amounts) brought back to phones."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import feed, outbox
from server.core.fate import InvoiceFacts, record_invoices_facts
from server.core.feed import Change
from server.db.database import Database
from server.db.models import SyncRecord
from sync_protocol.entities import Invoice, Payment, encode_entity


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


# An online invoice exists once Xero has approved the invoice (and stays when it is paid).
ONLINE_STATUSES = ("AUTHORISED", "PAID")


async def invoices_without_link(
    database: Database, organisation_id: uuid.UUID, xero_ids: Sequence[str]
) -> dict[str, str]:
    """Of ``xero_ids``, the forwarded invoices phones hold as approved but without their online
    invoice URL: record id by Xero id (lower case). Each is fetched once, then kept."""
    if not xero_ids:
        return {}
    async with database.sessions() as session:
        by_xero_id = await outbox.forwarded_invoices(session, organisation_id)
        wanted = {x.lower(): r for x in xero_ids if (r := by_xero_id.get(x.lower())) is not None}
        payloads = await feed.current_payloads(
            session, organisation_id, [("invoice", r) for r in wanted.values()]
        )
    missing: dict[str, str] = {}
    for xero_id, record_id in wanted.items():
        payload = payloads.get(("invoice", record_id))
        if payload is None:
            continue
        invoice = msgspec.json.decode(payload, type=Invoice)
        if invoice.status in ONLINE_STATUSES and not invoice.online_invoice_url:
            missing[xero_id] = record_id
    return missing


async def apply_online_invoice_urls(
    database: Database, organisation_id: uuid.UUID, urls: Mapping[str, str]
) -> int:
    """Publish each invoice (by record id) with its online invoice URL; returns how many changed."""
    if not urls:
        return 0
    async with database.transaction() as session:
        await feed.lock_organisation(session, organisation_id)
        payloads = await feed.current_payloads(session, organisation_id, [("invoice", r) for r in urls])
        changes = []
        for record_id, url in urls.items():
            payload = payloads.get(("invoice", record_id))
            if payload is None:
                continue
            invoice = msgspec.json.decode(payload, type=Invoice)
            if invoice.online_invoice_url != url:
                updated = msgspec.structs.replace(invoice, online_invoice_url=url)
                changes.append(Change("invoice", record_id, encode_entity(updated)))
        await feed.publish(session, organisation_id, changes)
    return len(changes)


_payment_decoder = msgspec.json.Decoder(Payment)
_invoice_decoder = msgspec.json.Decoder(Invoice)


async def settle_paid_amounts(
    session: AsyncSession, organisation_id: uuid.UUID, invoice_ids: Iterable[str]
) -> int:
    """Each invoice's ``amount_paid`` made the sum of the payment records phones hold on it (those not
    ``DELETED`` nor ``FAILED``), its ``amount_due`` and status following; returns how many changed.

    Called in the transaction that published the payments (the mirror's payments pull), so a phone's
    pull never sees a payment without its effect on the invoice, whichever of Xero's reads (invoices,
    payments) saw it first. What Xero credited besides payments (credit notes, overpayments) is kept:
    it is ``total - amount_paid - amount_due`` of the invoice as it stands. An invoice with an upload
    on its way (a phone's payment, deletion or edit) keeps the phone's view, as with Xero's facts.
    """
    wanted = set(invoice_ids)
    if not wanted:
        return 0
    await feed.lock_organisation(session, organisation_id)
    pending = await outbox.pending_invoice_uploads(session, organisation_id, wanted)
    wanted -= set(pending)
    if not wanted:
        return 0
    paid = dict.fromkeys(wanted, Decimal("0.00"))
    # The payments of an organisation are read whole: the feed keys them by id, not by invoice.
    payloads = await session.scalars(
        select(SyncRecord.payload).where(
            SyncRecord.organisation_id == organisation_id,
            SyncRecord.entity == "payment",
            SyncRecord.payload.is_not(None),
        )
    )
    for payload in payloads:
        if payload is None:
            continue
        payment = _payment_decoder.decode(payload)
        if payment.invoice_id in paid and payment.status == "AUTHORISED":
            paid[payment.invoice_id] += payment.amount
    current = await feed.current_payloads(session, organisation_id, [("invoice", i) for i in sorted(wanted)])
    changes = []
    for invoice_id in sorted(wanted):
        payload = current.get(("invoice", invoice_id))
        if payload is None:
            continue
        invoice = _invoice_decoder.decode(payload)
        credited = invoice.total - invoice.amount_paid - invoice.amount_due
        amount_paid = paid[invoice_id]
        amount_due = invoice.total - credited - amount_paid
        status = invoice.status
        if status in ("AUTHORISED", "PAID"):
            status = "PAID" if amount_due == 0 else "AUTHORISED"
        settled = msgspec.structs.replace(
            invoice, amount_paid=amount_paid, amount_due=amount_due, status=status
        )
        if settled != invoice:
            changes.append(Change("invoice", invoice_id, encode_entity(settled)))
    await feed.publish(session, organisation_id, changes)
    return len(changes)
