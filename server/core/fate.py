"""What the forwarder calls to report an upload's fate; each report reaches phones as a change.

    async with database.transaction() as session:
        await record_fate(session, organisation_id, upload_id, InXero(xero_id, invoice_number="INV-0042"))

``record_fate`` (``record_fates`` for a batch) updates the upload row and republishes the record
with its new ``sync`` state (and, once in Xero, its ``xero_id``, invoice number and Xero's amounts)
in the caller's transaction. When an upload is resolved (in Xero, or held by a setting), uploads
that were waiting only for it become ``accepted``. When it fails for good, nothing keeps waiting
for it: a dependant that can go without it (the failed upload was an edit of a record Xero has, so
a payment goes to the invoice Xero has; a void; a payment deletion) is released, and every other
one fails too, *blocked*, with a message naming the failed upload - and so do their own dependants.
A corrected upload or an admin's retry of the failed one makes them wait again
(``outbox.unblock_dependants``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

import msgspec
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from server.core import feed, outbox
from server.core.current import CurrentRecords, current_records
from server.core.errors import NotFound
from server.core.feed import Change
from server.core.states import DEAD_STATES, RESOLVED_STATES, UploadState
from server.db.chunks import chunks
from server.db.sync_models import Upload, UploadDependency
from server.db.types import utcnow
from sync_protocol.entities import ENTITY_NAME, Entity, Invoice, Payment, RecordSync, encode_entity
from sync_protocol.errors import ErrorCode

InvoiceStatus = Literal["DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"]


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    """What Xero says about an invoice: its number, status and amounts."""

    status: InvoiceStatus
    amount_paid: Decimal
    amount_due: Decimal
    total: Decimal | None = None
    invoice_number: str = ""


@dataclass(frozen=True, slots=True)
class Forwarding:
    """The forwarder took the item and is sending it now."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with a write Xero took all the same (the record stays in Xero): the upload's
    ``last_error``, its record's ``sync.message`` and an error of the run in the sync log say it."""

    code: ErrorCode
    message: str
    details: dict[str, object] | None = None


@dataclass(frozen=True, slots=True)
class InXero:
    xero_id: str
    invoice_number: str = ""
    facts: InvoiceFacts | None = None
    # An edit merged with Xero's record (server/core/merge.py): the record as Xero now has it,
    # which phones get, and what the merge resolved (the record's ``sync.message``).
    record: Entity | None = None
    note: str = ""
    fields: dict[str, object] | None = None  # or only some fields of the record (an invoice's)
    problem: Problem | None = None  # e.g. Xero's totals are not the phone's (``xero_totals_differ``)


@dataclass(frozen=True, slots=True)
class Failed:
    """Xero refused the item for good (``message`` is Xero's; ``field`` the mutation field)."""

    message: str
    field: str = ""
    # Xero keeps the record only in its archive (a contact archived there meanwhile): phones drop it,
    # as a mirror pull would have had the upload not been on its way.
    gone: bool = False


@dataclass(frozen=True, slots=True)
class Retrying:
    """A transient failure: the item goes again at ``at``. ``maybe_sent``: Xero may have it."""

    message: str
    at: datetime
    maybe_sent: bool


@dataclass(frozen=True, slots=True)
class Delayed:
    """Not sent (a 429, a paused connection): due again at ``at``, no attempt counted."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Held:
    """Kept on the server by a setting; ``reason`` says which."""

    reason: str


@dataclass(frozen=True, slots=True)
class Waiting:
    """Behind uploads not in Xero yet; ``message`` names them (``outbox.waiting_message``)."""

    message: str


Fate = Forwarding | InXero | Failed | Retrying | Delayed | Held | Waiting

_STATE_OF: dict[type[object], UploadState] = {
    Forwarding: UploadState.FORWARDING,
    InXero: UploadState.IN_XERO,
    Failed: UploadState.FAILED,
    Retrying: UploadState.RETRYING,
    Delayed: UploadState.ACCEPTED,
    Held: UploadState.HELD,
    Waiting: UploadState.WAITING,
}
_ENTITY_TYPES = {name: cls for cls, name in ENTITY_NAME.items()}


def state_of(fate: Fate) -> UploadState:
    """The upload state a fate puts its upload in."""
    return _STATE_OF[type(fate)]


async def record_fate(session: AsyncSession, organisation_id: uuid.UUID, upload_id: int, fate: Fate) -> None:
    await record_fates(session, organisation_id, [(upload_id, fate)])


async def record_fates(
    session: AsyncSession, organisation_id: uuid.UUID, fates: Sequence[tuple[int, Fate]]
) -> None:
    """Several fates in one go, with the same outcome as ``record_fate`` on each in order.

    A forwarding batch settles 50 uploads at once; reading their rows, records, latest uploads and
    dependants with a few IN queries and publishing once costs a fraction of 50 rounds of each.
    The fates are applied in memory in order, each on the records as the previous ones left them:
    an invoice's create that reaches Xero and releases the invoice's edit gives the record both its
    Xero id and the edit's state (restamping each from the feed lost the id, and the edit then
    went to Xero as a second invoice).
    """
    if not fates:
        return
    uploads = await _uploads(session, organisation_id, [upload_id for upload_id, _ in fates])
    for upload_id, _ in fates:
        upload = uploads.get(upload_id)
        if upload is None or upload.state == UploadState.REJECTED:
            raise NotFound(f"no accepted upload {upload_id} in this organisation", code=ErrorCode.NOT_FOUND)
    settled = list(uploads.values())
    dependents = await _dependents(session, [u.id for u in settled])
    waiting = list({d.id: d for ds in dependents.values() for d in ds}.values())
    blockers = await _dependencies(session, [d.id for d in waiting])
    records = _Records(current_records(session, organisation_id))
    await records.load(session, organisation_id, settled + waiting)
    # Upload states as the fates so far left them: a dependant goes when its last dependency is
    # resolved, wherever in the batch that happens.
    states = {u.id: u.state for u in waiting}
    failed: list[Upload] = []
    still_waiting: dict[int, Upload] = {}  # released from one dependency, not from all
    for upload_id, fate in fates:
        upload = uploads[upload_id]
        _apply_to_row(upload, fate)
        states[upload.id] = upload.state
        records.restamp(upload, fate)
        if isinstance(fate, InXero | Held):
            for dependent in dependents.get(upload.id, ()):
                if dependent.state != UploadState.WAITING:
                    continue
                if all(
                    states.get(d, state) in RESOLVED_STATES for d, state in blockers.get(dependent.id, ())
                ):
                    dependent.state = UploadState.ACCEPTED
                    dependent.last_error = ""
                    dependent.updated_at = utcnow()
                    states[dependent.id] = dependent.state
                    records.restamp(dependent, Forwarding())
                    still_waiting.pop(dependent.id, None)
                else:
                    still_waiting[dependent.id] = dependent
        if isinstance(fate, Failed):
            failed.append(upload)
    await _say_what_for(session, list(still_waiting.values()), records)
    await _release_or_block(session, organisation_id, failed, records)
    await feed.publish(session, organisation_id, records.changes())


async def _say_what_for(session: AsyncSession, uploads: list[Upload], records: _Records) -> None:
    """Waiting uploads some of whose dependencies went: their message names what is left."""
    waits = await outbox.unresolved_dependencies(session, [u.id for u in uploads])
    for upload in uploads:
        rest = waits.get(upload.id)
        if upload.state == UploadState.WAITING and rest:
            upload.last_error = outbox.waiting_message(rest)
            records.restamp(upload, Waiting(upload.last_error))


async def _release_or_block(
    session: AsyncSession, organisation_id: uuid.UUID, failed: list[Upload], records: _Records
) -> None:
    """Nothing waits for a failed upload: each dependant is released or blocked, level by level."""
    frontier = [u for u in failed if u.state == UploadState.FAILED]
    while frontier:
        dependents = await _dependents(session, [u.id for u in frontier])
        everyone = [d for ds in dependents.values() for d in ds]
        await records.load(session, organisation_id, [*frontier, *everyone])
        released: list[tuple[Upload, Upload]] = []
        blocked: list[Upload] = []
        for upload in frontier:
            in_xero = records.in_xero(upload)
            for dependent in dependents.get(upload.id, ()):
                if dependent.state != UploadState.WAITING:
                    continue
                if in_xero or dependent.kind in outbox.REMOVALS:
                    released.append((dependent, upload))
                    continue
                dependent.state = UploadState.FAILED
                dependent.last_error = outbox.blocked_message(upload)
                dependent.error_field = outbox.reference_field(dependent.kind, upload.entity)
                dependent.next_attempt_at = None
                dependent.updated_at = utcnow()
                records.restamp(dependent, Failed(dependent.last_error, dependent.error_field))
                blocked.append(dependent)
        for dependent, upload in released:
            await session.execute(
                delete(UploadDependency).where(
                    UploadDependency.upload_id == dependent.id, UploadDependency.depends_on_id == upload.id
                )
            )
        waits = await outbox.unresolved_dependencies(session, [d.id for d, _ in released])
        for dependent, _ in released:
            if dependent.state != UploadState.WAITING:
                continue  # blocked by another failed dependency above
            rest = waits.get(dependent.id, [])
            dependent.state = UploadState.WAITING if rest else UploadState.ACCEPTED
            dependent.last_error = outbox.waiting_message(rest) if rest else ""
            dependent.updated_at = utcnow()
            records.restamp(dependent, Waiting(dependent.last_error) if rest else Forwarding())
        frontier = blocked


async def settle_stuck(session: AsyncSession, organisation_id: uuid.UUID) -> int:
    """Uploads left from before these rules: waiting for a failed upload, or waiting silently.

    Releases or blocks the first (as a failure does now) and gives the others their message. Call
    under the organisation's lock. Returns how many waiting uploads were stuck or silent.
    """
    behind = aliased(Upload)
    pairs = (
        await session.execute(
            select(Upload, behind.id)
            .join(UploadDependency, UploadDependency.depends_on_id == Upload.id)
            .join(behind, behind.id == UploadDependency.upload_id)
            .where(
                Upload.organisation_id == organisation_id,
                Upload.state == UploadState.FAILED,
                behind.state == UploadState.WAITING,
            )
        )
    ).all()
    failed = list({upload.id: upload for upload, _ in pairs}.values())
    silent = list(
        (
            await session.scalars(
                select(Upload).where(
                    Upload.organisation_id == organisation_id,
                    Upload.state == UploadState.WAITING,
                    Upload.last_error == "",
                )
            )
        ).all()
    )
    if not failed and not silent:
        return 0
    records = _Records(current_records(session, organisation_id))
    await records.load(session, organisation_id, [*failed, *silent])
    await _release_or_block(session, organisation_id, failed, records)
    await _say_what_for(session, [u for u in silent if u.state == UploadState.WAITING], records)
    await feed.publish(session, organisation_id, records.changes())
    return len({waiting_id for _, waiting_id in pairs} | {u.id for u in silent})


async def restamp_uploads(
    session: AsyncSession, organisation_id: uuid.UUID, uploads: Sequence[Upload]
) -> None:
    """Publishes the records of ``uploads`` with their current state and message (e.g. unblocked)."""
    if not uploads:
        return
    records = _Records(current_records(session, organisation_id))
    await records.load(session, organisation_id, list(uploads))
    for upload in uploads:
        if upload.state == UploadState.WAITING:
            records.restamp(upload, Waiting(upload.last_error))
        elif upload.state == UploadState.ACCEPTED:
            records.restamp(upload, Forwarding())
    await feed.publish(session, organisation_id, records.changes())


async def _uploads(
    session: AsyncSession, organisation_id: uuid.UUID, upload_ids: Sequence[int]
) -> dict[int, Upload]:
    found: dict[int, Upload] = {}
    ids = list(dict.fromkeys(upload_ids))
    for chunk in chunks(ids):
        rows = await session.scalars(
            select(Upload).where(Upload.organisation_id == organisation_id, Upload.id.in_(chunk))
        )
        found.update((row.id, row) for row in rows)
    return found


async def _dependents(session: AsyncSession, upload_ids: Sequence[int]) -> dict[int, list[Upload]]:
    """The waiting uploads that depend on each of ``upload_ids``."""
    found: dict[int, list[Upload]] = {}
    for chunk in chunks(upload_ids):
        rows = await session.execute(
            select(UploadDependency.depends_on_id, Upload)
            .join(Upload, UploadDependency.upload_id == Upload.id)
            .where(
                UploadDependency.depends_on_id.in_(chunk),
                Upload.state == UploadState.WAITING,
            )
            .order_by(UploadDependency.depends_on_id, Upload.id)
        )
        for depends_on, upload in rows:
            found.setdefault(depends_on, []).append(upload)
    return found


async def _dependencies(session: AsyncSession, upload_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """Every upload each of ``upload_ids`` depends on, with its state now."""
    found: dict[int, list[tuple[int, str]]] = {}
    for chunk in chunks(upload_ids):
        rows = await session.execute(
            select(UploadDependency.upload_id, Upload.id, Upload.state)
            .join(Upload, Upload.id == UploadDependency.depends_on_id)
            .where(UploadDependency.upload_id.in_(chunk))
        )
        for upload_id, depends_on, state in rows:
            found.setdefault(upload_id, []).append((depends_on, state))
    return found


async def _latest_uploads(
    session: AsyncSession, organisation_id: uuid.UUID, record_ids: Sequence[str]
) -> dict[str, int]:
    """Each record's newest upload that is neither rejected nor superseded (``outbox.latest_upload``)."""
    found: dict[str, int] = {}
    ids = list(dict.fromkeys(record_ids))
    for chunk in chunks(ids):
        rows = await session.execute(
            select(Upload.record_id, func.max(Upload.id))
            .where(
                Upload.organisation_id == organisation_id,
                Upload.record_id.in_(chunk),
                Upload.state.not_in(DEAD_STATES),
            )
            .group_by(Upload.record_id)
        )
        for record_id, upload_id in rows:
            found[record_id] = upload_id
    return found


class _Records:
    """The records a batch of fates restamps, as phones have them, with the batch's changes on top.

    Their feed rows come from the transaction's current records (``server.core.current``).
    """

    def __init__(self, rows: CurrentRecords) -> None:
        self._rows = rows
        self._known: set[tuple[str, str]] = set()  # keys whose rows and latest uploads were read
        self._latest: dict[str, int] = {}
        self._current: dict[tuple[str, str], Entity | None] = {}
        self._changed: dict[tuple[str, str], Entity | None] = {}  # None: gone for phones

    async def load(
        self, session: AsyncSession, organisation_id: uuid.UUID, uploads: Sequence[Upload]
    ) -> None:
        """Reads the records (and latest uploads) of ``uploads`` not read yet."""
        wanted = [u for u in uploads if (u.entity, u.record_id) not in self._known]
        if not wanted:
            return
        keys = [(u.entity, u.record_id) for u in wanted]
        await self._rows.load(keys)
        self._known.update(keys)
        fresh = [u.record_id for u in wanted if u.record_id not in self._latest]
        self._latest.update(await _latest_uploads(session, organisation_id, fresh))

    def in_xero(self, upload: Upload) -> bool:
        """Whether Xero has the upload's record (it failed as an edit, not as the create)."""
        record = self.get(upload.entity, upload.record_id)
        return record is not None and bool(record.xero_id)

    def get(self, entity: str, record_id: str) -> Entity | None:
        key = (entity, record_id)
        if key not in self._current:
            self._current[key] = _decoded(entity, self._rows.payload(entity, record_id))
        return self._current[key]

    def is_latest(self, upload: Upload) -> bool:
        return self._latest.get(upload.record_id) == upload.id

    def put(self, entity: str, record: Entity) -> None:
        self._current[(entity, record.id)] = record
        self._changed[(entity, record.id)] = record

    def changes(self) -> list[Change]:
        """Each changed record once, in its final state (what publishing one by one would leave)."""
        return [
            Change(entity, record_id, encode_entity(r) if r is not None else None)
            for (entity, record_id), r in self._changed.items()
        ]

    def restamp(self, upload: Upload, fate: Fate) -> None:
        """The record with this upload's state, if the upload is still the record's latest."""
        record = self.get(upload.entity, upload.record_id)
        if record is None:
            return
        if isinstance(fate, InXero) and fate.record is not None and self.is_latest(upload):
            record = msgspec.structs.replace(fate.record, id=record.id, sync=getattr(record, "sync", None))
            self.put(upload.entity, record)
        if isinstance(fate, InXero) and fate.fields:
            # Facts of Xero's (the online invoice URL, emailed) that no phone edits: they hold even
            # when a later upload of the record is on its way (an email request waits for its invoice).
            record = msgspec.structs.replace(record, **fate.fields)
            self.put(upload.entity, record)
        changes: dict[str, object] = {}
        sync = _sync_of(upload, fate)
        if self.is_latest(upload) and sync is not None:
            changes["sync"] = sync
        if isinstance(fate, InXero):
            changes["xero_id"] = fate.xero_id
            if isinstance(record, Invoice):
                changes.update(_invoice_changes(fate))
        if isinstance(record, Payment) and upload.kind == "create_payment" and self.is_latest(upload):
            # A payment Xero refused (or that never reached it) is not AUTHORISED anywhere.
            status = _payment_status(record, fate)
            if status != record.status:
                changes["status"] = status
        if changes:
            self.put(upload.entity, msgspec.structs.replace(record, **changes))
        if isinstance(fate, Failed) and fate.gone and self.is_latest(upload):
            self._current[(upload.entity, upload.record_id)] = None
            self._changed[(upload.entity, upload.record_id)] = None


def _apply_to_row(upload: Upload, fate: Fate) -> None:
    upload.state = _STATE_OF[type(fate)]
    upload.updated_at = utcnow()
    if isinstance(fate, Forwarding):
        upload.attempts += 1
        return
    upload.claimed_by = ""
    upload.claim_expires_at = None
    if isinstance(fate, Retrying):
        upload.next_attempt_at = fate.at
        upload.last_error = fate.message[:4000]
        if not fate.maybe_sent:
            upload.sent_at = None
        return
    upload.sent_at = None
    if isinstance(fate, Delayed):
        upload.next_attempt_at = fate.at
        upload.attempts = max(0, upload.attempts - 1)
        return
    upload.next_attempt_at = None
    upload.last_error = ""
    upload.error_field = ""
    if isinstance(fate, Failed):
        upload.last_error = fate.message[:4000]
        upload.error_field = fate.field[:200]
    elif isinstance(fate, Held):
        upload.last_error = fate.reason[:4000]
    elif isinstance(fate, InXero):
        upload.xero_id = fate.xero_id
        if fate.problem is not None:
            upload.last_error = fate.problem.message[:4000]
        if fate.facts is not None:
            upload.xero_number = fate.facts.invoice_number or fate.invoice_number
            upload.xero_total = str(fate.facts.total) if fate.facts.total is not None else ""
        elif fate.invoice_number:
            upload.xero_number = fate.invoice_number


def _sync_of(upload: Upload, fate: Fate) -> RecordSync | None:
    if isinstance(fate, Delayed):
        return None  # phones saw ``accepted``; nothing changed for them
    message, field = "", ""
    if isinstance(fate, Failed):
        message, field = fate.message, fate.field
    elif isinstance(fate, Retrying):
        message = fate.message
    elif isinstance(fate, Held):
        message = fate.reason
    elif isinstance(fate, InXero):
        message = " ".join(m for m in (fate.note, fate.problem.message if fate.problem else "") if m)
    elif isinstance(fate, Waiting):
        message = fate.message
    return RecordSync(
        state=UploadState(upload.state).on_wire, mutation_id=upload.mutation_id, message=message, field=field
    )


def _payment_status(payment: Payment, fate: Fate) -> Literal["AUTHORISED", "DELETED", "FAILED"]:
    if isinstance(fate, Failed):
        return "FAILED"
    return "AUTHORISED" if payment.status == "FAILED" else payment.status


def _invoice_changes(fate: InXero) -> dict[str, object]:
    changes: dict[str, object] = {}
    number = fate.facts.invoice_number if fate.facts and fate.facts.invoice_number else fate.invoice_number
    if number:
        changes["invoice_number"] = number
    if fate.facts is not None:
        changes.update(
            status=fate.facts.status, amount_paid=fate.facts.amount_paid, amount_due=fate.facts.amount_due
        )
    return changes


def _decoded(entity: str, payload: bytes | None) -> Entity | None:
    if payload is None or entity not in _ENTITY_TYPES:
        return None
    return msgspec.json.decode(payload, type=_ENTITY_TYPES[entity])


async def record_invoice_facts(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    invoice_id: str,
    *,
    status: InvoiceStatus,
    amount_paid: Decimal,
    amount_due: Decimal,
    invoice_number: str = "",
) -> bool:
    """Xero-side facts about an uploaded invoice (paid elsewhere, voided in Xero, amount due).

    Returns whether phones see a change.
    """
    facts = InvoiceFacts(status, amount_paid, amount_due, invoice_number=invoice_number)
    return await record_invoices_facts(session, organisation_id, [(invoice_id, facts)]) > 0


async def record_invoices_facts(
    session: AsyncSession, organisation_id: uuid.UUID, facts: Sequence[tuple[str, InvoiceFacts]]
) -> int:
    """``record_invoice_facts`` for several invoices, published together; returns how many changed."""
    if not facts:
        return 0
    payloads = await feed.current_payloads(
        session, organisation_id, [("invoice", invoice_id) for invoice_id, _ in facts]
    )
    current: dict[str, Invoice] = {}
    changed: dict[str, Invoice] = {}
    count = 0
    for invoice_id, fact in facts:
        invoice = current.get(invoice_id) or _decoded("invoice", payloads.get(("invoice", invoice_id)))
        if not isinstance(invoice, Invoice):
            raise NotFound(f"no invoice {invoice_id} in this organisation", code=ErrorCode.NOT_FOUND)
        updated = msgspec.structs.replace(
            invoice,
            status=fact.status,
            amount_paid=fact.amount_paid,
            amount_due=fact.amount_due,
            invoice_number=fact.invoice_number or invoice.invoice_number,
        )
        current[invoice_id] = updated
        if updated != invoice:
            changed[invoice_id] = updated
            count += 1
    await feed.publish(
        session,
        organisation_id,
        [Change("invoice", invoice_id, encode_entity(invoice)) for invoice_id, invoice in changed.items()],
    )
    return count


async def current_record(
    session: AsyncSession, organisation_id: uuid.UUID, entity: str, record_id: str
) -> Entity | None:
    """The record as phones have it now (the feed's latest payload), or None."""
    return await current_records(session, organisation_id).entity(entity, record_id)


async def xero_id_of(
    session: AsyncSession, organisation_id: uuid.UUID, entity: str, record_id: str
) -> str | None:
    """The Xero id of a record (mirror or uploaded-and-forwarded), for references the forwarder sends."""
    record = await current_records(session, organisation_id).entity(entity, record_id)
    return record.xero_id if record else None


# Uploads a tenant switch leaves behind: not in Xero yet, and not claimed by a worker right now (a send
# on the wire finishes to the old organisation, as it started).
_STRANDED = (
    UploadState.WAITING,
    UploadState.ACCEPTED,
    UploadState.RETRYING,
    UploadState.FAILED,
    UploadState.HELD,
)


async def strand_uploads(session: AsyncSession, organisation_id: uuid.UUID, old: str, new: str) -> int:
    """The organisation switched Xero tenants: what phones made for ``old`` and is not there yet fails,
    saying so, instead of going to ``new`` (its customers, invoices and payments refer to records of
    the old organisation). Phones see each record failed; an admin may still Retry one on purpose."""
    ids = list(
        await session.scalars(
            select(Upload.id)
            .where(Upload.organisation_id == organisation_id, Upload.state.in_(_STRANDED))
            .order_by(Upload.id)
        )
    )
    message = (
        f"made for the Xero organisation {old}; not sent to {new}, which ledgersync now syncs with "
        "(Retry sends it there)"
    )
    await record_fates(session, organisation_id, [(upload_id, Failed(message)) for upload_id in ids])
    return len(ids)
