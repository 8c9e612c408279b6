"""After Xero refuses an edit, phones get Xero's version of the record back.

An edit Xero refuses (an invoice with a payment allocated, a paid or voided one) would otherwise
leave the phone's refused amounts on the server and on every phone, with no way to correct them
(a PAID invoice is not editable). The truth is Xero's: the forwarder reads the refused records back
by id (``GET /Invoices/{id}``, ``GET /Contacts/{id}``) and publishes them as Xero has them, with the
upload's ``failed`` state and Xero's message kept in ``sync``. Only while the refused upload is still
the record's latest: a correction pushed meanwhile is the phone's newer word.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from decimal import Decimal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import feed, outbox
from server.core.fate import current_record
from server.db.sync_models import Upload
from server.xero import wire
from server.xero.client import XeroClient
from server.xero.errors import XeroError
from server.xero_link import mapping
from server.xero_link.invoice_versions import Names
from sync_protocol.entities import (
    Customer,
    Entity,
    Invoice,
    encode_entity,
)
from sync_protocol.messages import CreatePayment
from sync_protocol.money import to_decimal

log = logging.getLogger("ledgersync.forwarding")


class XeroVersions:
    """Xero's current records of refused edits, read before the refusals are recorded, so that
    the upload's ``failed`` state and Xero's version reach phones in the same change."""

    def __init__(self, entity: str, refused: Sequence[tuple[int, str, str]]) -> None:
        self._entity = entity
        self._refused = list(refused)  # (upload id, record id, Xero id)
        self._fetched: dict[int, wire.Contact | wire.Invoice] = {}

    async def fetch(self, client: XeroClient) -> XeroVersions:
        """One GET by id per record; a record Xero cannot be asked for now stays as it is."""
        for upload_id, _, xero_id in self._refused:
            try:
                if self._entity == "invoice":
                    answer = await client.get(f"/Invoices/{xero_id}", wire.Invoices, params={"unitdp": "4"})
                    if answer.invoices:
                        self._fetched[upload_id] = answer.invoices[0]
                elif self._entity == "customer":
                    contacts = await client.get(f"/Contacts/{xero_id}", wire.Contacts)
                    if contacts.contacts:
                        self._fetched[upload_id] = contacts.contacts[0]
            except XeroError as exc:
                log.warning("could not read a refused record back from Xero", extra={"error": exc.message})
        return self

    async def publish(self, session: AsyncSession, organisation_id: uuid.UUID, failed: set[int]) -> int:
        """After the fates are recorded (same transaction): Xero's version of each record whose
        refused upload (in ``failed``) is still its latest. Returns how many records changed."""
        changes = []
        for upload_id, record_id, _ in self._refused:
            found = self._fetched.get(upload_id)
            if found is None or upload_id not in failed:
                continue
            latest = await outbox.latest_upload(session, organisation_id, record_id)
            if latest is None or latest.id != upload_id:
                continue
            current = await current_record(session, organisation_id, self._entity, record_id)
            version: Entity | None = None
            if isinstance(found, wire.Invoice) and isinstance(current, Invoice):
                names = await Names.load(session, organisation_id, [found])
                local = await _local_payments(session, organisation_id, current.id)
                version = names.version(found, current, local)
            elif isinstance(found, wire.Contact) and isinstance(current, Customer):
                mapped = mapping.customer_of(found, record_id)
                if not mapped.live:  # archived in Xero meanwhile: phones drop it
                    changes.append(feed.Change(self._entity, record_id, None))
                    continue
                version = msgspec.structs.replace(mapped.entity, sync=current.sync)
            if version is not None:
                changes.append(feed.Change(self._entity, record_id, encode_entity(version)))
        return await feed.publish(session, organisation_id, changes)


async def _local_payments(session: AsyncSession, organisation_id: uuid.UUID, invoice_id: str) -> Decimal:
    """The sum of phone payments on the invoice still on their way to Xero."""
    pending = (await outbox.pending_invoice_uploads(session, organisation_id, [invoice_id])).get(invoice_id)
    if not pending:
        return Decimal(0)
    requests = await session.scalars(
        select(Upload.request).where(
            Upload.organisation_id == organisation_id,
            Upload.id.in_(sorted(pending)),
            Upload.kind == "create_payment",
        )
    )
    total = Decimal(0)
    for request in requests:
        mutation = msgspec.json.decode(request, type=CreatePayment)
        total += to_decimal(mutation.payment.amount)
    return total
