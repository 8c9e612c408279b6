"""Finding in Xero what an earlier attempt may have created before its answer was lost.

An item is *ambiguous* when a send of it began and no outcome was recorded: the connection
dropped after Xero committed, the worker died, the claim expired. Idempotency-Keys make Xero
answer a repeat with the first result, but only within Xero's idempotency window and only for a
byte-identical request; so before any ambiguous create is sent again, ledgersync looks for it by
the id it wrote on the record (``server/kinds/``), among what changed in Xero since the first send.
Each kind says how its records are recognised (its operation's ``found_again`` in ``server/kinds/``:
contacts by ContactNumber, items by code, invoices by their ``Url`` backlink or contact, date,
reference and total, payments by invoice, amount, date and reference); this module reads what
changed. A create found is done; one not found is sent again. Edits need no lookup
(sending the same values twice changes nothing); voids and payment deletions are checked by reading
the record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from server.db.chunks import chunks
from server.xero import wire
from server.xero.client import PAGE_SIZE, XeroClient

# Xero stamps UpdatedDateUTC when it commits, which can be a little before our sent_at.
OVERLAP = timedelta(minutes=5)
_XERO_IDS = 50  # ids per IDs= filter: Xero refuses longer lists


W = TypeVar("W", bound=wire.Wire)


async def changed_since(
    client: XeroClient, path: str, answer: type[W], since: datetime, params: Mapping[str, str] | None = None
) -> list[W]:
    """Every page of ``path`` changed since ``since`` less ``OVERLAP``: page by page where Xero
    pages it (its envelope has ``pagination``), else one answer (Items)."""
    if "pagination" not in answer.__struct_fields__:
        return [await client.get(path, answer, params=dict(params or {}), modified_since=since - OVERLAP)]
    pages: list[W] = []
    page = 1
    while True:
        paged = {**(params or {}), "page": str(page), "pageSize": str(PAGE_SIZE)}
        found = await client.get(path, answer, params=paged, modified_since=since - OVERLAP)
        pages.append(found)
        pagination: wire.Pagination | None = getattr(found, "pagination", None)
        if pagination is None or page >= pagination.page_count:
            return pages
        page += 1


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
