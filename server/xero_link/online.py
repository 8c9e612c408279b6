"""Xero's online invoice link (``GET /Invoices/{id}/OnlineInvoice``) brought to the invoice records.

Xero has an online invoice only for an approved sales invoice, and offers no list of them: one
call per invoice, made once (the URL is then on the record, and stays). The forwarder asks right
after Xero approved an invoice it sent; the mirror's invoices pull asks for any approved in Xero
since (a DRAFT a Xero user approved) or missed (a call that failed).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from server.core.facts import apply_online_invoice_urls, invoices_without_link
from server.db.database import Database
from server.xero import wire
from server.xero.client import XeroClient
from server.xero.errors import RateLimited, XeroError

log = logging.getLogger(__name__)

ONLINE_INLINE = 5  # links the forwarder asks for right after one write; the mirror asks for the rest
ONLINE_PER_PULL = 25  # links one mirror pull asks for: the rest wait for the next pulls


async def publish_online_invoices(
    database: Database, organisation_id: uuid.UUID, client: XeroClient, xero_ids: Sequence[str]
) -> int:
    """Fetch and publish the online invoice URL of each approved forwarded invoice among ``xero_ids``
    that has none yet (at most ``ONLINE_PER_PULL``, one call each: pulls must not spend the day's
    calls on links); returns how many records phones see change. A failed call leaves that invoice
    for the next pull; being rate limited stops asking (the rest wait for the next pull)."""
    missing = await invoices_without_link(database, organisation_id, xero_ids)
    urls: dict[str, str] = {}
    for xero_id, record_id in sorted(missing.items())[:ONLINE_PER_PULL]:
        try:
            url = await online_invoice_url(client, xero_id)
        except RateLimited:
            break
        if url:
            urls[record_id] = url
    return await apply_online_invoice_urls(database, organisation_id, urls)


async def online_invoice_url(client: XeroClient, xero_id: str) -> str:
    """Xero's online invoice URL of one invoice; "" when Xero has none or could not say (the
    mirror's next invoices pull asks again). Raises RateLimited: the caller stops asking."""
    try:
        answer = await client.get(f"/Invoices/{xero_id}/OnlineInvoice", wire.OnlineInvoices)
    except RateLimited:
        raise
    except XeroError as exc:
        log.info("no online invoice", extra={"invoice": xero_id, "reason": exc.message})
        return ""
    return next((o.online_invoice_url for o in answer.online_invoices if o.online_invoice_url), "")
