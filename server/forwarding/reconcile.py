"""Finding in Xero what an earlier attempt may have created before its answer was lost.

An item is *ambiguous* when a send of it began and no outcome was recorded: the connection
dropped after Xero committed, the worker died, the claim expired. Idempotency-Keys make Xero
answer a repeat with the first result, but only within Xero's idempotency window and only for a
byte-identical request; so before any ambiguous create is sent again, ledgersync looks for it by
the id it wrote on the record (``server/kinds/``), among what changed in Xero since the first send.
Invoices are found by their ``Url`` backlink, or, as Xero does not always keep ``Url``, by what the
element itself fixes: contact, date, reference and total (``InvoiceKey``), among invoices no other
record of ledgersync owns. A create found is done; one not found is sent again. Edits need no lookup
(sending the same values twice changes nothing); voids and payment deletions are checked by reading
the record.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from server.db.chunks import chunks
from server.kinds.invoice import record_id_of_backlink
from server.xero import wire
from server.xero.client import PAGE_SIZE, XeroClient

# Xero stamps UpdatedDateUTC when it commits, which can be a little before our sent_at.
OVERLAP = timedelta(minutes=5)
_XERO_IDS = 50  # ids per IDs= filter: Xero refuses longer lists


@dataclass(frozen=True)
class PaymentKey:
    """What identifies a payment ledgersync made: no field of Xero's payments can hold our id."""

    invoice_xero_id: str
    amount: Decimal
    day: date
    reference: str


async def _pages(
    client: XeroClient,
    path: str,
    kind: type[wire.Invoices] | type[wire.Contacts] | type[wire.Payments],
    since: datetime,
    params: dict[str, str],
) -> AsyncIterator[wire.Invoices | wire.Contacts | wire.Payments]:
    page = 1
    while True:
        answer = await client.get(
            path, kind, params={**params, "page": str(page), "pageSize": str(PAGE_SIZE)}, modified_since=since
        )
        yield answer
        pagination = answer.pagination
        if pagination is None or page >= pagination.page_count:
            return
        page += 1


async def contacts_made(
    client: XeroClient, record_ids: Sequence[str], since: datetime
) -> dict[str, wire.Contact]:
    """Contacts in Xero carrying one of ``record_ids`` as ContactNumber, changed since ``since``."""
    wanted = set(record_ids)
    found: dict[str, wire.Contact] = {}
    async for answer in _pages(
        client, "/Contacts", wire.Contacts, since - OVERLAP, {"includeArchived": "true"}
    ):
        assert isinstance(answer, wire.Contacts)
        for contact in answer.contacts:
            if contact.contact_number in wanted:
                found[contact.contact_number] = contact
    return found


async def items_made(client: XeroClient, codes: Sequence[str], since: datetime) -> dict[str, wire.Item]:
    """Items in Xero with one of ``codes`` (as Xero compares them, ignoring case), changed since
    ``since``: Xero's item codes are unique, so the item with a create's code is the one it made."""
    wanted = {code.lower(): code for code in codes}
    answer = await client.get("/Items", wire.Items, modified_since=since - OVERLAP)  # Items are not paged
    found: dict[str, wire.Item] = {}
    for item in answer.items:
        code = wanted.get(item.code.lower())
        if code is not None:
            found[code] = item
    return found


@dataclass(frozen=True)
class InvoiceKey:
    """What identifies an invoice ledgersync created, without its ``Url`` (which Xero may drop)."""

    url: str
    contact_xero_id: str
    day: date | None
    reference: str
    total: Decimal


def invoice_key(element: dict[str, Any], total: Decimal) -> InvoiceKey:
    """The key of a create element (``invoice.invoice_element``) whose draft totals ``total``."""
    contact = element.get("Contact") or {}
    raw_day = element.get("Date")
    return InvoiceKey(
        url=str(element.get("Url") or ""),
        contact_xero_id=str(contact.get("ContactID") or "").lower(),
        day=date.fromisoformat(raw_day) if isinstance(raw_day, str) else None,
        reference=str(element.get("Reference") or ""),
        total=total,
    )


async def invoices_made(
    client: XeroClient,
    keys: Mapping[str, InvoiceKey],
    since: datetime,
    known: frozenset[str] | set[str] = frozenset(),
) -> dict[str, wire.Invoice]:
    """Sales invoices in Xero made by the creates of ``keys`` (by record id): by ``Url`` backlink
    first, then by ``InvoiceKey`` among invoices carrying no other backlink, not DELETED, and not
    already linked to a record (``known``: lower-case Xero ids). None is matched twice."""
    found: dict[str, wire.Invoice] = {}
    candidates: list[wire.Invoice] = []
    params = {"where": 'Type=="ACCREC"', "unitdp": "4"}
    async for answer in _pages(client, "/Invoices", wire.Invoices, since - OVERLAP, params):
        assert isinstance(answer, wire.Invoices)
        for invoice in answer.invoices:
            record_id = record_id_of_backlink(invoice.url)
            if record_id is not None and record_id in keys:
                found[record_id] = invoice
            elif record_id is None and invoice.status != "DELETED":
                candidates.append(invoice)
    taken = {invoice.invoice_id.lower() for invoice in found.values()} | {x.lower() for x in known}
    for record_id, key in keys.items():
        if record_id in found:
            continue
        for invoice in candidates:
            if invoice.invoice_id.lower() not in taken and _same_invoice(invoice, key):
                found[record_id] = invoice
                taken.add(invoice.invoice_id.lower())
                break
    return found


def _same_invoice(invoice: wire.Invoice, key: InvoiceKey) -> bool:
    contact = invoice.contact.contact_id.lower() if invoice.contact else ""
    day = invoice.date.date() if invoice.date else None
    return (
        contact == key.contact_xero_id
        and day == key.day
        and invoice.reference == key.reference
        and invoice.total == key.total
    )


async def payments_made(
    client: XeroClient, keys: dict[int, PaymentKey], since: datetime, known: set[str]
) -> dict[int, wire.Payment]:
    """Payments in Xero matching each upload's key, none matched twice nor already linked (``known``)."""
    candidates: list[wire.Payment] = []
    async for answer in _pages(client, "/Payments", wire.Payments, since - OVERLAP, {}):
        assert isinstance(answer, wire.Payments)
        candidates.extend(
            p for p in answer.payments if p.status != "DELETED" and p.payment_id.lower() not in known
        )
    found: dict[int, wire.Payment] = {}
    taken: set[str] = set()
    for upload_id, key in keys.items():
        for payment in candidates:
            if payment.payment_id in taken or not _same(payment, key):
                continue
            found[upload_id] = payment
            taken.add(payment.payment_id)
            break
    return found


def _same(payment: wire.Payment, key: PaymentKey) -> bool:
    invoice = payment.invoice.invoice_id.lower() if payment.invoice else ""
    day = payment.date.date() if payment.date else None
    return (
        invoice == key.invoice_xero_id.lower()
        and payment.amount == key.amount
        and day == key.day
        and payment.reference == key.reference
    )


async def invoices_by_id(client: XeroClient, xero_ids: Sequence[str]) -> dict[str, wire.Invoice]:
    """The invoices with these Xero ids as Xero has them now (lower-cased ids as keys)."""
    found: dict[str, wire.Invoice] = {}
    for chunk in chunks(xero_ids, _XERO_IDS):
        answer = await client.get("/Invoices", wire.Invoices, params={"IDs": ",".join(chunk), "unitdp": "4"})
        for invoice in answer.invoices:
            found[invoice.invoice_id.lower()] = invoice
    return found


async def contacts_by_id(client: XeroClient, xero_ids: Sequence[str]) -> dict[str, wire.Contact]:
    """The contacts with these Xero ids as Xero has them now, archived ones too (lower-cased ids
    as keys). 50 ids a request: Xero refuses longer lists."""
    found: dict[str, wire.Contact] = {}
    for chunk in chunks(xero_ids, _XERO_IDS):
        params = {"IDs": ",".join(chunk), "includeArchived": "true"}
        answer = await client.get("/Contacts", wire.Contacts, params=params)
        for contact in answer.contacts:
            found[contact.contact_id.lower()] = contact
    return found


async def payment_status(client: XeroClient, xero_id: str) -> str:
    answer = await client.get(f"/Payments/{xero_id}", wire.Payments)
    return answer.payments[0].status if answer.payments else ""
