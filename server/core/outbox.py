"""The ``uploads`` table as the forwarder's queue (the outbox): rows, dependencies, claims.

Every pushed mutation becomes one row. Accepted rows are forwarded in ``id`` order; a row may go
only when every upload it depends on is *resolved* (in Xero, or held on the server by a setting):
a payment after its invoice, an invoice after its new customer, an edit after the record's create.

    rejected     refused at the door; never forwarded
    waiting      accepted, behind an upload it depends on          ──▶ accepted
    accepted     due (at ``next_attempt_at``, if set)                ──▶ forwarding
    forwarding   claimed by a worker until ``claim_expires_at``     ──▶ in_xero | retrying | failed | held
    in_xero      done: Xero has it (``xero_id``)
    retrying     a transient failure (Xero down, dropped connection); due again at ``next_attempt_at``
    failed       Xero refused it (validation); stops here until the phone uploads a corrected version
                 (this row becomes ``superseded``) or an admin retries it. Its dependants never wait
                 for it: those that can go without it (it was an edit of a record Xero has; a void or
                 a payment deletion) are released, the others fail too, *blocked* (``attempts`` 0,
                 their message names it), and wait again for its correction or its retry
    held         kept on the server by a setting (payments not forwarded, customer edits kept local)
    superseded   a failed upload replaced by a corrected one of the same record

Claims are rows updated to ``forwarding`` with the worker's name and an expiry, chosen with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serialises writers anyway): two workers never take
the same row. A claim that expires was lost with its worker; the row is due again, and because
``sent_at`` may say it reached Xero, the next attempt reconciles before it sends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.current import current_records
from server.core.states import DEAD_STATES, DUE_STATES, PENDING_STATES, RESOLVED_STATES, UploadState
from server.db.chunks import chunks
from server.db.sync_models import Upload, UploadDependency
from server.db.types import utcnow
from sync_protocol.entities import Payment
from sync_protocol.messages import AnyMutation, CreatePayment

_mutation_decoder = msgspec.json.Decoder(AnyMutation)


@dataclass(frozen=True, slots=True)
class NewUpload:
    device_id: uuid.UUID | None
    mutation_id: str
    request_hash: str
    kind: str
    entity: str
    record_id: str
    state: UploadState
    request: bytes
    result: bytes
    last_error: str = ""  # waiting: what for; failed (blocked): which upload's failure holds it
    error_field: str = ""


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """An accepted upload ready to forward: every upload it depends on is in Xero."""

    upload_id: int
    kind: str
    entity: str
    record_id: str
    mutation: AnyMutation


async def find_uploads(
    session: AsyncSession, organisation_id: uuid.UUID, mutation_ids: Sequence[str]
) -> dict[str, Upload]:
    rows = await session.scalars(
        select(Upload).where(Upload.organisation_id == organisation_id, Upload.mutation_id.in_(mutation_ids))
    )
    return {row.mutation_id: row for row in rows}


async def latest_upload(session: AsyncSession, organisation_id: uuid.UUID, record_id: str) -> Upload | None:
    """The record's newest upload that is neither rejected nor superseded."""
    found: Upload | None = await session.scalar(
        select(Upload)
        .where(
            Upload.organisation_id == organisation_id,
            Upload.record_id == record_id,
            Upload.state.not_in(DEAD_STATES),
        )
        .order_by(Upload.id.desc())
        .limit(1)
    )
    return found


_NEW_UPLOAD_COLUMNS = (
    "organisation_id",
    "device_id",
    "mutation_id",
    "request_hash",
    "kind",
    "entity",
    "record_id",
    "state",
    "request",
    "result",
    "last_error",
    "error_field",
)


class UploadBatch:
    """The outbox as one push reads and extends it: read ahead, written in one go.

    ``preload`` reads, for every record the push names, its latest live upload and whether an
    upload of it was ever rejected (two queries per chunk of ids instead of several per
    mutation). New uploads stay in memory, depending on each other by object, until ``write``
    inserts them and their dependencies together. Records not preloaded are read on first use.
    """

    def __init__(self, session: AsyncSession, organisation_id: uuid.UUID) -> None:
        self._session = session
        self._org = organisation_id
        self._latest: dict[str, Upload] = {}
        self._rejected: set[str] = set()
        self._loaded: set[str] = set()
        self._new: list[tuple[Upload, list[Upload]]] = []
        self._superseded: list[tuple[Upload, Upload]] = []

    async def preload(self, record_ids: Iterable[str]) -> None:
        wanted = [i for i in dict.fromkeys(record_ids) if i not in self._loaded]
        for chunk in chunks(wanted):
            of_chunk = (Upload.organisation_id == self._org, Upload.record_id.in_(chunk))
            newest = (
                select(func.max(Upload.id))
                .where(*of_chunk, Upload.state.not_in(DEAD_STATES))
                .group_by(Upload.record_id)
            )
            for row in await self._session.scalars(select(Upload).where(Upload.id.in_(newest))):
                self._latest[row.record_id] = row
            rejected = await self._session.scalars(
                select(Upload.record_id).where(*of_chunk, Upload.state == UploadState.REJECTED).distinct()
            )
            self._rejected.update(rejected)
            self._loaded.update(chunk)

    async def latest(self, record_id: str) -> Upload | None:
        """The record's newest upload that is neither rejected nor superseded."""
        await self.preload([record_id])
        return self._latest.get(record_id)

    async def was_rejected(self, record_id: str) -> bool:
        await self.preload([record_id])
        return record_id in self._rejected

    async def open_dependencies(self, record_ids: Iterable[str]) -> list[Upload]:
        """For each record, its latest live upload if that is not resolved yet."""
        found = []
        for record_id in dict.fromkeys(record_ids):
            latest = await self.latest(record_id)
            if latest is not None and latest.state not in RESOLVED_STATES:
                found.append(latest)
        return found

    def add(self, new: NewUpload, depends_on: Sequence[Upload], replaces: Upload | None = None) -> Upload:
        """A new upload; ``replaces``: the record's failed upload, which it supersedes."""
        upload = Upload(
            organisation_id=self._org,
            device_id=new.device_id,
            mutation_id=new.mutation_id,
            request_hash=new.request_hash,
            kind=new.kind,
            entity=new.entity,
            record_id=new.record_id,
            state=new.state,
            request=new.request,
            result=new.result,
            last_error=new.last_error[:4000],
            error_field=new.error_field[:200],
        )
        self._new.append((upload, list(depends_on)))
        if new.state == UploadState.REJECTED:
            self._rejected.add(new.record_id)
        else:
            self._latest[new.record_id] = upload
        if replaces is not None:
            replaces.state = UploadState.SUPERSEDED
            replaces.updated_at = utcnow()
            self._superseded.append((replaces, upload))
        return upload

    async def write(self) -> list[Upload]:
        """Inserts the new uploads (one batched INSERT), then their dependencies.

        Returns the uploads that were blocked by a failed upload this push corrected: waiting again
        (for the correction), for the caller to restamp.
        """
        if not self._new:
            return []
        # A Core INSERT … RETURNING of many rows is one statement on both engines; the ORM's flush
        # goes row by row on SQLite, where RETURNING cannot follow parameter order. Rows are
        # matched back by mutation id (unique in the organisation) instead.
        inserted = await self._session.execute(
            insert(Upload).returning(Upload.mutation_id, Upload.id),
            [{column: getattr(upload, column) for column in _NEW_UPLOAD_COLUMNS} for upload, _ in self._new],
        )
        ids: dict[str, int] = {mutation_id: upload_id for mutation_id, upload_id in inserted}
        for upload, _ in self._new:
            upload.id = ids[upload.mutation_id]
        dependencies = [
            {"upload_id": upload.id, "depends_on_id": dependency.id}
            for upload, depends_on in self._new
            for dependency in depends_on
        ]
        if dependencies:
            await self._session.execute(insert(UploadDependency), dependencies)
        # What waited for a failed upload now waits for its correction.
        for failed, replacement in self._superseded:
            await self._session.execute(
                update(UploadDependency)
                .where(UploadDependency.depends_on_id == failed.id)
                .values(depends_on_id=replacement.id)
            )
        corrections = [
            replacement.id for _, replacement in self._superseded if replacement.state != UploadState.FAILED
        ]
        self._new.clear()
        self._superseded.clear()
        return await unblock_dependants(self._session, corrections)


def describe(upload: Upload) -> str:
    return f"{upload.entity} {upload.record_id} (upload {upload.id})"


def waiting_message(dependencies: Sequence[Upload]) -> str:
    """What a waiting upload waits for, true for as long as it waits: the records (a correction of a
    failed one takes its place), not the uploads (see ``unresolved_dependencies``)."""
    named = dict.fromkeys(f"{d.entity} {d.record_id}" for d in dependencies)
    return ("waiting for " + " and ".join(named) + " to reach Xero")[:4000]


BLOCKED_PREFIX = "not sent: "


def blocked_message(failed: Upload) -> str:
    """Why an upload cannot go: an upload it needs failed, and the record it needs is not in Xero."""
    cause = failed.last_error or "Xero refused it"
    return (
        f"{BLOCKED_PREFIX}{describe(failed)} did not reach Xero ({cause}); this goes once a corrected "
        f"{failed.entity} is uploaded or an admin retries upload {failed.id}"
    )[:4000]


# The field of each kind of mutation that names the record it depends on.
_REFERENCE_FIELDS = {
    ("upsert_invoice", "customer"): "invoice.customer_id",
    ("upsert_invoice", "invoice"): "invoice.id",
    ("upsert_customer", "customer"): "customer.id",
    ("create_payment", "invoice"): "payment.invoice_id",
    ("void_invoice", "invoice"): "invoice_id",
    ("delete_payment", "payment"): "payment_id",
    ("email_invoice", "invoice"): "invoice_id",
}


def reference_field(kind: str, entity: str) -> str:
    return _REFERENCE_FIELDS.get((kind, entity), "")


# Uploads that only take a record out of Xero: without the record in Xero they are held, so a
# failure of what they depend on never blocks them.
REMOVALS = ("void_invoice", "delete_payment")


def is_blocked(upload: Upload) -> bool:
    """Failed without ever being sent: an upload it depends on failed (``blocked_message``)."""
    return upload.state == UploadState.FAILED and upload.attempts == 0


async def unresolved_dependencies(
    session: AsyncSession, upload_ids: Sequence[int]
) -> dict[int, list[Upload]]:
    """For each upload, the uploads it depends on that are not resolved yet, oldest first."""
    found: dict[int, list[Upload]] = {}
    ids = list(dict.fromkeys(upload_ids))
    for chunk in chunks(ids):
        rows = await session.execute(
            select(UploadDependency.upload_id, Upload)
            .join(Upload, Upload.id == UploadDependency.depends_on_id)
            .where(
                UploadDependency.upload_id.in_(chunk),
                Upload.state.not_in(RESOLVED_STATES),
            )
            .order_by(UploadDependency.upload_id, Upload.id)
        )
        for upload_id, dependency in rows:
            found.setdefault(upload_id, []).append(dependency)
    return found


async def unblock_dependants(session: AsyncSession, upload_ids: Sequence[int]) -> list[Upload]:
    """Uploads blocked behind ``upload_ids`` (now corrected or retried) wait again, and theirs in turn.

    Each gets the waiting message; the caller restamps their records for phones.
    """
    unblocked: list[Upload] = []
    frontier = list(upload_ids)
    while frontier:
        found: dict[int, Upload] = {}
        for chunk in chunks(frontier):
            rows = await session.scalars(
                select(Upload)
                .join(UploadDependency, UploadDependency.upload_id == Upload.id)
                .where(
                    UploadDependency.depends_on_id.in_(chunk),
                    Upload.state == UploadState.FAILED,
                    Upload.attempts == 0,
                )
            )
            found.update((row.id, row) for row in rows)
        waits = await unresolved_dependencies(session, list(found))
        now = utcnow()
        for row in found.values():
            row.state = UploadState.WAITING if waits.get(row.id) else UploadState.ACCEPTED
            row.last_error = waiting_message(waits[row.id]) if waits.get(row.id) else ""
            row.error_field = ""
            row.updated_at = now
        unblocked += found.values()
        frontier = list(found)
    return unblocked


async def forwardable_uploads(
    session: AsyncSession, organisation_id: uuid.UUID, limit: int = 100
) -> list[OutboxItem]:
    """Accepted uploads whose dependencies are all in Xero, oldest first: the forwarder's next work.

    ``waiting`` rows become ``accepted`` when ``record_fate`` reports their last dependency in Xero.
    """
    rows = await session.scalars(
        select(Upload)
        .where(Upload.organisation_id == organisation_id, Upload.state == UploadState.ACCEPTED)
        .order_by(Upload.id)
        .limit(limit)
    )
    return [
        OutboxItem(row.id, row.kind, row.entity, row.record_id, _mutation_decoder.decode(row.request))
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class Claimed:
    """An upload a worker holds. ``ambiguous``: an earlier send may have reached Xero unseen."""

    upload_id: int
    kind: str
    entity: str
    record_id: str
    mutation: AnyMutation
    generation: int
    attempts: int
    ambiguous: bool
    sent_at: datetime | None


async def claim_due(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    worker: str,
    ttl: timedelta,
    limit: int,
) -> list[Claimed]:
    """Take up to ``limit`` due uploads (and any whose claim expired), oldest first.

    Marks each as possibly sent from now on: the caller sends right after committing, and a crash
    in between costs only a reconciliation lookup.
    """
    now = utcnow()
    rows = list(
        await session.scalars(
            select(Upload)
            .where(_claimable(now, organisation_id))
            .order_by(Upload.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    claimed = []
    for row in rows:
        ambiguous = row.sent_at is not None
        row.state = UploadState.FORWARDING
        row.claimed_by = worker
        row.claim_expires_at = now + ttl
        row.attempts += 1
        row.sent_at = row.sent_at or now
        row.updated_at = now
        claimed.append(
            Claimed(
                row.id,
                row.kind,
                row.entity,
                row.record_id,
                _mutation_decoder.decode(row.request),
                row.generation,
                row.attempts,
                ambiguous,
                row.sent_at,
            )
        )
    return claimed


async def has_due(session: AsyncSession) -> list[uuid.UUID]:
    """Organisations with an upload a worker could claim now."""
    rows = await session.scalars(select(Upload.organisation_id).where(_claimable(utcnow())).distinct())
    return list(rows)


async def organisations_waiting(session: AsyncSession) -> list[uuid.UUID]:
    """Organisations with a waiting upload."""
    rows = await session.scalars(
        select(Upload.organisation_id).where(Upload.state == UploadState.WAITING).distinct()
    )
    return list(rows)


def _claimable(now: datetime, organisation_id: uuid.UUID | None = None) -> ColumnElement[bool]:
    due = Upload.state.in_(DUE_STATES) & or_(Upload.next_attempt_at.is_(None), Upload.next_attempt_at <= now)
    lapsed = (Upload.state == UploadState.FORWARDING) & (Upload.claim_expires_at < now)
    if organisation_id is not None:
        # The organisation inside each branch: SQLite then searches its (organisation, state)
        # index once per branch, instead of reading every upload the organisation ever had.
        due = (Upload.organisation_id == organisation_id) & due
        lapsed = (Upload.organisation_id == organisation_id) & lapsed
    return or_(due, lapsed)


async def invoice_has_pending_uploads(
    session: AsyncSession, organisation_id: uuid.UUID, invoice_id: str, exclude: int | None = None
) -> bool:
    """Whether an upload of the invoice, or of a payment on it, is still on its way to Xero.

    While one is, the phone's own view of the invoice (paid locally, edited) is newer than Xero's,
    so Xero's amounts must not overwrite it yet.
    """
    pending = await pending_invoice_uploads(session, organisation_id, [invoice_id])
    return bool(pending.get(invoice_id, set()) - {exclude or 0})


class _InvoiceOfPayment(msgspec.Struct):
    invoice_id: str


class _PaymentCreation(msgspec.Struct):
    """Of a stored ``create_payment``, only what says which invoice it pays (decodes in a fraction
    of the time the whole mutation takes)."""

    payment: _InvoiceOfPayment


_payment_creation_decoder = msgspec.json.Decoder(_PaymentCreation)


@dataclass(slots=True)
class PaymentInvoices:
    """Which invoice each payment upload concerns, as far as one caller has read it.

    A payment upload's request never changes, nor a payment's invoice: a forwarding run keeps one
    of these across its settles, so each payment is read once per run, and what the run claimed
    (``hold``) is not read at all.
    """

    of_upload: dict[int, str] = field(default_factory=dict)  # create_payment upload id -> invoice id
    of_payment: dict[str, str] = field(default_factory=dict)  # payment id -> invoice id (deletions)

    def hold(self, upload_id: int, mutation: AnyMutation) -> None:
        if isinstance(mutation, CreatePayment):
            self.of_upload[upload_id] = mutation.payment.invoice_id


async def pending_invoice_uploads(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    invoice_ids: Iterable[str],
    known: PaymentInvoices | None = None,
) -> dict[str, set[int]]:
    """For each invoice, the ids of its uploads and of its payments' uploads still on their way to Xero.

    ``invoice_has_pending_uploads`` for many invoices at once; invoices with none are absent.
    ``known``: payments read before (filled with what this call reads).
    """
    wanted = set(invoice_ids)
    if not wanted:
        return {}
    known = known if known is not None else PaymentInvoices()
    found: dict[str, set[int]] = {}
    ordered = sorted(wanted)
    for chunk in chunks(ordered):
        own = await session.execute(
            select(Upload.id, Upload.record_id).where(
                Upload.organisation_id == organisation_id,
                Upload.state.in_(PENDING_STATES),
                Upload.record_id.in_(chunk),
            )
        )
        for upload_id, record_id in own:
            found.setdefault(record_id, set()).add(upload_id)
    payments = (
        await session.execute(
            select(Upload.id, Upload.record_id, Upload.kind).where(
                Upload.organisation_id == organisation_id,
                Upload.state.in_(PENDING_STATES),
                Upload.entity == "payment",
            )
        )
    ).all()
    unread = [i for i, _, kind in payments if kind == "create_payment" and i not in known.of_upload]
    for ids in chunks(unread):
        requests = await session.execute(select(Upload.id, Upload.request).where(Upload.id.in_(ids)))
        for upload_id, request in requests:
            known.of_upload[upload_id] = _payment_creation_decoder.decode(request).payment.invoice_id
    deletions: list[tuple[int, str]] = []  # (upload id, payment id): the payment's invoice is in the feed
    for upload_id, payment_id, kind in payments:
        if kind == "create_payment":
            if known.of_upload[upload_id] in wanted:
                found.setdefault(known.of_upload[upload_id], set()).add(upload_id)
        else:
            deletions.append((upload_id, payment_id))
    payment_ids = list(dict.fromkeys(p for _, p in deletions if p not in known.of_payment))
    payloads = await current_records(session, organisation_id).payloads(("payment", i) for i in payment_ids)
    for (_, payment_id), payload in payloads.items():
        if payload:
            known.of_payment[payment_id] = msgspec.json.decode(payload, type=Payment).invoice_id
    for upload_id, payment_id in deletions:
        invoice_id = known.of_payment.get(payment_id)
        if invoice_id in wanted:
            found.setdefault(invoice_id, set()).add(upload_id)
    return found


async def xero_ids_of(session: AsyncSession, organisation_id: uuid.UUID, entity: str) -> set[str]:
    """Xero ids (lower case) of the records of ``entity`` that uploads put in Xero."""
    rows = await session.scalars(
        select(Upload.xero_id).where(
            Upload.organisation_id == organisation_id, Upload.entity == entity, Upload.xero_id.is_not(None)
        )
    )
    return {xero_id.lower() for xero_id in rows if xero_id}


async def forwarded_invoices(session: AsyncSession, organisation_id: uuid.UUID) -> dict[str, str]:
    """Invoices uploads created in Xero: record id by Xero id (lower case)."""
    rows = await session.execute(
        select(Upload.xero_id, Upload.record_id).where(
            Upload.organisation_id == organisation_id,
            Upload.entity == "invoice",
            Upload.kind == "upsert_invoice",
            Upload.xero_id.is_not(None),
        )
    )
    return {xero_id.lower(): record_id for xero_id, record_id in rows if xero_id}


async def forwarded_payments(
    session: AsyncSession, organisation_id: uuid.UUID, xero_ids: Iterable[str]
) -> dict[str, str]:
    """Of ``xero_ids``, the payments phones made that are in Xero: record id by Xero id (lower case)."""
    wanted = {xero_id.lower() for xero_id in xero_ids}
    if not wanted:
        return {}
    rows = await session.execute(
        select(Upload.xero_id, Upload.record_id).where(
            Upload.organisation_id == organisation_id,
            Upload.entity == "payment",
            Upload.kind == "create_payment",
            Upload.xero_id.is_not(None),
        )
    )
    return {x.lower(): record_id for x, record_id in rows if x and x.lower() in wanted}


async def first_forwarded_invoice_at(session: AsyncSession, organisation_id: uuid.UUID) -> datetime | None:
    """When the oldest invoice upload now in Xero was made (None: no invoice was forwarded)."""
    found: datetime | None = await session.scalar(
        select(func.min(Upload.created_at)).where(
            Upload.organisation_id == organisation_id,
            Upload.entity == "invoice",
            Upload.xero_id.is_not(None),
        )
    )
    return found


async def renew_claims(
    session: AsyncSession, organisation_id: uuid.UUID, upload_ids: Sequence[int], worker: str, ttl: timedelta
) -> set[int]:
    """Extend this worker's claims just before it sends; returns the ids it still holds.

    A claim that lapsed and was taken by another worker is no longer ours (``claimed_by``
    changed): its item must not be sent from here, or both workers could put it in Xero.
    """
    if not upload_ids:
        return set()
    rows = await session.scalars(
        select(Upload)
        .where(
            Upload.organisation_id == organisation_id,
            Upload.id.in_(upload_ids),
            Upload.state == UploadState.FORWARDING,
            Upload.claimed_by == worker,
        )
        .with_for_update()
    )
    held = set()
    expires = utcnow() + ttl
    for row in rows:
        row.claim_expires_at = expires
        held.add(row.id)
    return held
