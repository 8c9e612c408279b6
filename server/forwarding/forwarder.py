"""One forwarding run of one organisation: claim due uploads, send them to Xero, record each fate.

    report = await forwarder.forward(organisation_id)   # None: nothing was due (or no connection)

A run claims up to ``claim_limit`` due uploads (their dependencies are all resolved, so none of
them needs another), turns each into a Xero element, and sends them by operation in dependency
order - contacts, invoices, voids, payments, payment deletions - up to ``batch_size`` elements per
request with ``summarizeErrors=false``, so each element's result is applied on its own:

- created or updated in Xero → ``in_xero`` with Xero's id (invoices: number and amounts too);
- refused by Xero's validation → ``failed`` with Xero's message and the field it concerns;
- Xero busy (429) or the connection paused → due again later, no attempt counted;
- Xero down, a timeout, a dropped connection → ``retrying`` with backoff, and marked as *maybe
  sent*: the next attempt reconciles before it sends (``reconcile.py``).

Every request carries an Idempotency-Key derived from its content and the items' generations, so
a repeat inside Xero's window is answered from Xero's memory. Each run is one entry in the sync log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from server.core import merge, outbox
from server.core.current import CurrentRecords, current_records
from server.core.facts import ONLINE_STATUSES, apply_invoice_facts
from server.core.fate import (
    Delayed,
    Failed,
    Fate,
    Held,
    InXero,
    Retrying,
    current_record,
    record_fates,
    state_of,
)
from server.core.mirror_store import Counts, link_phone_record
from server.core.outbox import Claimed
from server.core.records import RecordView, lock_organisation
from server.core.sync_log import SyncLog
from server.db.chunks import chunks
from server.db.database import Database
from server.db.forwarding_models import ForwardingSettings
from server.db.types import utcnow
from server.forwarding import reconcile, refused
from server.forwarding.voices import Voice, voice_of_forwarding_error
from server.kinds import KINDS
from server.kinds.base import Job, NotYet, Operation, PlanContext, Prepare, Send, XeroIds
from server.xero import wire
from server.xero.client import XeroClient, element_errors
from server.xero.errors import NeedsReconnect, RateLimited, ValidationError, XeroError
from server.xero_link import mapping
from server.xero_link.access import XeroAccess
from server.xero_link.online import ONLINE_INLINE, online_invoice_url
from sync_protocol.entities import (
    OrganisationSettings,
    encode_entity,
)

log = logging.getLogger("ledgersync.forwarding")
W = TypeVar("W", bound=wire.Wire)

RECONNECT_PAUSE = timedelta(minutes=5)


@dataclass(frozen=True)
class ForwardingPolicy:
    batch_size: int = 50
    claim_limit: int = 250
    claim_ttl: timedelta = timedelta(minutes=10)
    retry_base: float = 30.0
    retry_max: float = 3600.0


# Dependency order: a run's items never depend on each other, but keeping this order means a
# customer and its invoice claimed by one run after a crash still reach Xero in the right order.
ORDER = KINDS.operations()


@dataclass
class RunReport:
    taken: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    held: int = 0
    failed: int = 0
    retrying: int = 0
    delayed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def details(self) -> dict[str, Any]:
        return {
            "taken": self.taken,
            "held": self.held,
            "failed": self.failed,
            "retrying": self.retrying,
            "delayed": self.delayed,
        }


class Forwarder:
    def __init__(
        self,
        database: Database,
        access: XeroAccess,
        base_url: str,
        worker: str,
        policy: ForwardingPolicy = ForwardingPolicy(),
    ) -> None:
        self._db = database
        self._access = access
        self._base_url = base_url
        self.worker = worker
        self.policy = policy
        self._log = SyncLog(database)

    async def forward(self, organisation_id: uuid.UUID, trigger: str = "worker") -> RunReport | None:
        try:
            client = await self._access.client_for(organisation_id, forwarding=True)
        except NeedsReconnect:
            return None  # paused: items stay due until an admin reconnects
        async with self._db.transaction() as session:
            claimed = await outbox.claim_due(
                session, organisation_id, self.worker, self.policy.claim_ttl, self.policy.claim_limit
            )
        if not claimed:
            return None
        run = _Run(self, organisation_id, client)
        ttl = self.policy.claim_ttl
        run_id = await self._log.start(
            organisation_id, trigger, sorted({c.entity for c in claimed}), kind="forward", ttl=ttl
        )
        try:
            async with self._log.kept_open(run_id, ttl):  # a worker that dies leaves it interrupted
                await run.execute(claimed)
        except Exception as exc:  # a bug must not leave items claimed until their claim lapses
            log.exception("forwarding run failed", extra={"organisation_id": str(organisation_id)})
            await run.give_back(claimed, f"internal error: {type(exc).__name__}")
        finally:
            report = run.report
            counts = Counts(report.taken, report.created, report.updated, report.deleted)
            await self._log.close(run_id, counts, client.calls, report.errors, report.details())
        return run.report

    def backoff(self, attempts: int) -> timedelta:
        seconds = min(self.policy.retry_max, self.policy.retry_base * 2 ** max(0, attempts - 1))
        return timedelta(seconds=seconds)


class _Run:
    def __init__(self, forwarder: Forwarder, organisation_id: uuid.UUID, client: XeroClient) -> None:
        self._f = forwarder
        self._db = forwarder._db
        self._org = organisation_id
        self._client = client
        self._settled: set[int] = set()
        self._conflicts: dict[int, list[merge.FieldConflict]] = {}  # by upload: merges of edits
        self._payments = outbox.PaymentInvoices()  # payments' invoices, read once per run
        self.report = RunReport()

    async def execute(self, claimed: list[Claimed]) -> None:
        self.report.taken = len(claimed)
        for item in claimed:
            self._payments.hold(item.upload_id, item.mutation)
        jobs, immediate = await self._plan(claimed)
        await self._settle([(item, fate, None) for item, fate in immediate])
        for operation in ORDER:
            group = [job for job in jobs if job.operation is operation]
            if group:
                await self._run(operation, group)

    async def give_back(self, claimed: list[Claimed], message: str) -> None:
        left = [c for c in claimed if c.upload_id not in self._settled]
        fates = [(c, self._retrying(c, message, maybe_sent=True), None) for c in left]
        await self._settle(fates)

    # --- planning ---------------------------------------------------------------------------------
    async def _plan(self, claimed: list[Claimed]) -> tuple[list[Job], list[tuple[Claimed, Fate]]]:
        jobs: list[Job] = []
        immediate: list[tuple[Claimed, Fate]] = []
        async with self._db.sessions() as session:
            view = RecordView(session, self._org)
            settings = await view.forwarding()
            kinds = [KINDS.of(item.mutation) for item in claimed]
            reads = any(kind.plans_with_organisation for kind in kinds)
            organisation = await view.organisation() if reads else None
            xero_ids = XeroIds(*await view.xero_ids_for_invoices()) if reads else XeroIds({}, {})
            # Every record the run's items refer to, read at once rather than a few queries per item.
            keys = [
                key
                for kind, item in zip(kinds, claimed, strict=True)
                for key in kind.forward_references(item.mutation)
            ]
            records = current_records(session, self._org)
            await records.load(keys)
        for item in claimed:
            planned = self._plan_one(settings, organisation, records, item, xero_ids)
            if isinstance(planned, Job):
                jobs.append(planned)
            else:
                immediate.append((item, planned))
        return jobs, immediate

    def _plan_one(
        self,
        settings: ForwardingSettings,
        organisation: OrganisationSettings | None,
        records: CurrentRecords,
        item: Claimed,
        xero_ids: XeroIds,
    ) -> Job | Fate:
        context = PlanContext(settings, organisation, records, self._f._base_url, item.ambiguous, xero_ids)
        planned = KINDS.of(item.mutation).plan(item.mutation, context)
        if isinstance(planned, NotYet):
            return self._retrying(item, planned.message, maybe_sent=item.ambiguous)
        if isinstance(planned, Send):
            return Job(item, planned.operation, dict(planned.element), target=planned.target)
        return planned

    # --- sending ----------------------------------------------------------------------------------
    async def _run(self, operation: Operation, jobs: list[Job]) -> None:
        try:
            jobs = await self._reconciled(operation, jobs)
            if operation.prepare is not None:
                jobs = await self._prepared(operation.prepare, jobs)
        except XeroError as exc:
            await self._settle([(job.item, self._failure(job.item, exc, sent=False), None) for job in jobs])
            return
        if operation.one_by_one:
            for job in jobs:
                await self._send_one(operation, job)
            return
        size = self._f.policy.batch_size
        await asyncio.gather(*(self._send(operation, list(batch)) for batch in chunks(jobs, size)))

    async def _prepared(self, prepare: Prepare, jobs: list[Job]) -> list[Job]:
        """The operation's step before sending (a merge with Xero's record, a void's status read);
        what it settled without sending is settled here, with the conflicts its merges resolved."""
        remaining, settled = await prepare(jobs, self)
        for job in jobs:
            if job.conflicts is not None:
                self._conflicts[job.item.upload_id] = job.conflicts
        await self._settle(settled)
        return remaining

    # What ``Operation.prepare`` reads (``XeroReads``).
    async def contacts_by_id(self, xero_ids: Sequence[str]) -> dict[str, wire.Contact]:
        return await reconcile.contacts_by_id(self._client, xero_ids)

    async def invoices_by_id(self, xero_ids: Sequence[str]) -> dict[str, wire.Invoice]:
        return await reconcile.invoices_by_id(self._client, xero_ids)

    async def merge_policy(self) -> merge.Policy:
        async with self._db.sessions() as session:
            return await merge.policy_of(session, self._org)

    async def changed_since(
        self, path: str, answer: type[W], since: datetime, params: Mapping[str, str] | None = None
    ) -> list[W]:
        return await reconcile.changed_since(self._client, path, answer, since, params)

    async def linked_xero_ids(self, entity: str) -> set[str]:
        async with self._db.sessions() as session:
            return await outbox.xero_ids_of(session, self._org, entity)

    async def payment_status(self, xero_id: str) -> str:
        return await reconcile.payment_status(self._client, xero_id)

    async def _reconciled(self, operation: Operation, jobs: list[Job]) -> list[Job]:
        """The jobs still to send: ambiguous creates found in Xero are settled as done."""
        ambiguous = [job for job in jobs if job.item.ambiguous]
        if not ambiguous or operation.found_again is None:
            return jobs
        since = min(job.item.sent_at or utcnow() for job in ambiguous)
        found = await operation.found_again(ambiguous, since, self)
        if found:
            log.info("reconciled", extra={"operation": operation.name, "found": len(found)})
            await self._settle([(job.item, fate, operation) for job, fate in found])
        done = {job.item.upload_id for job, _ in found}
        return [job for job in jobs if job.item.upload_id not in done]

    def _merge_fate(self, job: Job, element: Any, fate: InXero) -> InXero:
        """A merged edit's fate carries the record as Xero answered it, and what was resolved."""
        answered = job.operation.answered
        return answered(job, element, fate) if answered is not None else fate

    async def _still_ours(self, jobs: list[Job]) -> list[Job]:
        """The jobs whose claims this worker still holds, renewed for the send about to happen."""
        async with self._db.transaction() as session:
            # Lock order: the organisation's feed lock before upload rows, as a push takes them;
            # the other order deadlocks with a push adding a dependency on one of these uploads.
            await lock_organisation(session, self._org)
            held = await outbox.renew_claims(
                session,
                self._org,
                [job.item.upload_id for job in jobs],
                self._f.worker,
                self._f.policy.claim_ttl,
            )
        lost = [job for job in jobs if job.item.upload_id not in held]
        if lost:
            log.warning("claims lapsed; another worker has these items", extra={"items": len(lost)})
            self._settled.update(job.item.upload_id for job in lost)
        return [job for job in jobs if job.item.upload_id in held]

    async def _send(self, operation: Operation, jobs: list[Job]) -> None:
        jobs = await self._still_ours(jobs)
        if not jobs or operation.answer is None:  # a write without an answer goes one by one
            return
        body = wire.encode({operation.envelope: [job.element for job in jobs]})  # once: key and request
        key = idempotency_key(self._client.tenant_id, operation, [job.item for job in jobs], body)
        params = dict(operation.params) or None
        try:
            answer = await self._client.write(
                operation.method,
                operation.path,
                body,
                operation.answer,
                idempotency_key=key,
                params=params,
                retry_unanswered=False,  # an unanswered write is reconciled before it goes again
            )
        except ValidationError as exc:
            refusals = self._refused(jobs, exc)
            await self._settle(refusals, await self._xero_versions(operation, jobs, refusals))
            return
        except XeroError as exc:
            await self._settle([(job.item, self._failure(job.item, exc, sent=True), None) for job in jobs])
            return
        elements: list[Any] = getattr(answer, operation.envelope.lower())
        results = self._results(operation, jobs, elements)
        if operation.online_invoice:
            results = await self._with_online_invoices(results)
        await self._settle(results, await self._xero_versions(operation, jobs, results))
        if operation.changes_invoice is not None:
            await self._refresh_invoices([operation.changes_invoice(job.element) for job in jobs])

    async def _with_online_invoices(
        self, results: list[tuple[Claimed, Fate, Operation | None]]
    ) -> list[tuple[Claimed, Fate, Operation | None]]:
        """Invoices Xero approved carry their online invoice URL in their fate, so phones get it
        with the invoice's first state in Xero (one call each; none for a DRAFT). An edit's fate
        carries it too: a record a Xero user approved since gets it with the edit."""
        out: list[tuple[Claimed, Fate, Operation | None]] = []
        limited = False
        calls = 0
        for item, fate, operation in results:
            # Xero has one call per invoice for this: a few go inline, so a phone's invoice has its
            # link at once; a big batch would spend the minute's calls its own forwarding needs, and
            # the mirror's next invoices pull fetches the rest.
            if isinstance(fate, InXero) and fate.facts is not None and not limited and calls < ONLINE_INLINE:
                url = ""
                if fate.facts.status in ONLINE_STATUSES:
                    calls += 1
                    try:
                        url = await online_invoice_url(self._client, fate.xero_id)
                    except RateLimited:
                        limited = True
                if url:
                    fate = dataclasses.replace(
                        fate, fields={**(fate.fields or {}), "online_invoice_url": url}
                    )
            out.append((item, fate, operation))
        return out

    def _results(
        self, operation: Operation, jobs: list[Job], elements: list[Any]
    ) -> list[tuple[Claimed, Fate, Operation | None]]:
        if len(elements) != len(jobs):
            message = f"Xero answered {len(elements)} results for {len(jobs)} records"
            return [(job.item, self._retrying(job.item, message, maybe_sent=True), None) for job in jobs]
        refused = {error.index: error.messages for error in element_errors(elements)}
        settled: list[tuple[Claimed, Fate, Operation | None]] = []
        for index, (job, element) in enumerate(zip(jobs, elements, strict=True)):
            if index in refused:
                message = " ".join(refused[index]) or "Xero refused this record"
                settled.append((job.item, Failed(message, _field_of(job.item, message)), None))
            else:
                settled.append(
                    (
                        job.item,
                        self._merge_fate(job, element, KINDS.of(job.item.mutation).fate_of(element)),
                        operation,
                    )
                )
        return settled

    def _refused(self, jobs: list[Job], exc: ValidationError) -> list[tuple[Claimed, Fate, Operation | None]]:
        by_index = {element.index: element.messages for element in exc.elements}
        settled: list[tuple[Claimed, Fate, Operation | None]] = []
        for index, job in enumerate(jobs):
            messages = by_index.get(index) or exc.messages
            message = " ".join(messages)
            settled.append((job.item, Failed(message, _field_of(job.item, message)), None))
        return settled

    async def _xero_versions(
        self, operation: Operation, jobs: list[Job], fates: Sequence[tuple[Claimed, Fate, Operation | None]]
    ) -> refused.XeroVersions | None:
        """Edits Xero refused: their records as Xero has them, for phones (``refused.py``)."""
        entity = operation.refused_record
        failed = {item.upload_id for item, fate, _ in fates if isinstance(fate, Failed)}
        key = operation.id_key
        targets = [
            (job.item.upload_id, job.item.record_id, str(job.element[key]))
            for job in jobs
            if job.item.upload_id in failed and job.element.get(key)
        ]
        if entity is None or not targets:
            return None
        return await refused.XeroVersions(entity, targets).fetch(self._client)

    async def _send_one(self, operation: Operation, job: Job) -> None:
        """A write Xero takes one record at a time, at its own path; done is the record's Xero id."""
        if not await self._still_ours([job]):
            return
        try:
            done = operation.already_done
            if job.item.ambiguous and done is not None and await done(job, self):
                await self._settle([(job.item, self._merge_fate(job, None, InXero(job.target)), operation)])
                return
            # Once, for both key and request. No envelope: the element is the body (an email's ``{}``).
            body = wire.encode({operation.envelope: [job.element]} if operation.envelope else job.element)
            key = idempotency_key(self._client.tenant_id, operation, [job.item], body)
            path = f"{operation.path}/{job.target}{operation.suffix}"
            if operation.answer is None:  # Xero answers 204, no body
                await self._client.act(operation.method, path, body, idempotency_key=key)
            else:
                await self._client.write(operation.method, path, body, operation.answer, idempotency_key=key)
        except ValidationError as exc:
            await self._settle(self._refused([job], exc))
            return
        except XeroError as exc:
            await self._settle([(job.item, self._failure(job.item, exc, sent=True), None)])
            return
        await self._settle([(job.item, self._merge_fate(job, None, InXero(job.target)), operation)])

    # --- outcomes ---------------------------------------------------------------------------------
    def _failure(self, item: Claimed, exc: XeroError, sent: bool) -> Fate:
        if isinstance(exc, RateLimited):
            return Delayed(utcnow() + timedelta(seconds=max(1.0, exc.retry_after)))
        if isinstance(exc, NeedsReconnect):
            return Delayed(utcnow() + RECONNECT_PAUSE)
        if isinstance(exc, ValidationError):
            return Failed(" ".join(exc.messages), _field_of(item, " ".join(exc.messages)))
        return self._retrying(item, exc.message, maybe_sent=sent or item.ambiguous)

    def _retrying(self, item: Claimed, message: str, maybe_sent: bool) -> Retrying:
        return Retrying(message, utcnow() + self._f.backoff(item.attempts), maybe_sent)

    async def _settle(
        self,
        fates: Sequence[tuple[Claimed, Fate, Operation | None]],
        xero_versions: refused.XeroVersions | None = None,
    ) -> None:
        if not fates:
            return
        async with self._db.transaction() as session:
            # Lock order: the organisation's feed lock before upload rows, as a push takes them;
            # the other order deadlocks with a push adding a dependency on one of these uploads.
            await lock_organisation(session, self._org)
            held = await outbox.renew_claims(
                session,
                self._org,
                [item.upload_id for item, _, _ in fates],
                self._f.worker,
                self._f.policy.claim_ttl,
            )
            # Another worker took over the rest after our claims lapsed: its word counts.
            ours = [(item, fate, operation) for item, fate, operation in fates if item.upload_id in held]
            ours = await self._with_facts_allowed(session, ours)
            await record_fates(session, self._org, [(item.upload_id, fate) for item, fate, _ in ours])
            for item, fate, _ in ours:
                conflicts = self._conflicts.pop(item.upload_id, None) if isinstance(fate, InXero) else None
                if conflicts:
                    merge.record_conflicts(
                        session, self._org, item.upload_id, item.record_id, conflicts, item.entity
                    )
            if xero_versions is not None:
                failed = {item.upload_id for item, fate, _ in ours if isinstance(fate, Failed)}
                await xero_versions.publish(session, self._org, failed)
            for item, fate, operation in ours:
                if isinstance(fate, InXero) and operation is not None and operation.links_mirror:
                    await self._link_record(session, item.entity, item.record_id, fate.xero_id)
        for item, fate, operation in fates:
            self._settled.add(item.upload_id)
            if item.upload_id in held:
                self._count(item, fate, operation)

    async def _with_facts_allowed(
        self, session: Any, fates: list[tuple[Claimed, Fate, Operation | None]]
    ) -> list[tuple[Claimed, Fate, Operation | None]]:
        """Xero's amounts replace the phone's only when no later upload changes the invoice again.

        Uploads settled earlier in ``fates`` count as they will stand by then (as when each fate
        was recorded on its own, in order).
        """
        invoices = [
            item.record_id for item, fate, _ in fates if isinstance(fate, InXero) and fate.facts is not None
        ]
        if not invoices:
            return fates
        pending = await outbox.pending_invoice_uploads(session, self._org, invoices, self._payments)
        no_longer: set[int] = set()  # settled above in this batch, and no longer on their way
        allowed: list[tuple[Claimed, Fate, Operation | None]] = []
        for item, fate, operation in fates:
            if isinstance(fate, InXero) and fate.facts is not None:
                others = pending.get(item.record_id, set()) - no_longer - {item.upload_id}
                if others:
                    # Not the amounts; the fields Xero alone sets (its online invoice URL) still go.
                    fate = InXero(
                        fate.xero_id, fate.facts.invoice_number, problem=fate.problem, fields=fate.fields
                    )
            if not state_of(fate).is_pending:
                no_longer.add(item.upload_id)
            allowed.append((item, fate, operation))
        return allowed

    async def _link_record(self, session: Any, entity: str, record_id: str, xero_id: str) -> None:
        record = await current_record(session, self._org, entity, record_id)
        if record is None:
            return
        payload = encode_entity(record)
        await link_phone_record(
            session, self._org, self._client.tenant_id, entity, record_id, xero_id, payload
        )

    def _count(self, item: Claimed, fate: Fate, operation: Operation | None) -> None:
        report = self.report
        if isinstance(fate, InXero):
            if operation is not None and operation.removes:
                report.deleted += 1
            elif operation is not None and operation.creates:
                report.created += 1
            else:
                report.updated += 1
            if fate.problem is not None:  # in Xero, but not as the phone had it
                report.errors.append(
                    {
                        "data_type": item.entity,
                        "code": str(fate.problem.code),
                        "message": fate.problem.message,
                        "voice": Voice.NOTE,  # in Xero, but not as the phone had it
                        "xero_messages": [],
                        "record": item.record_id,
                        "upload_id": item.upload_id,
                        "mutation_id": getattr(item.mutation, "mutation_id", ""),
                        "field": "",
                        "retrying": False,
                        "details": fate.problem.details or {},
                    }
                )
        elif isinstance(fate, Held):
            report.held += 1
        elif isinstance(fate, Delayed):
            report.delayed += 1
        elif isinstance(fate, Retrying | Failed):
            if isinstance(fate, Failed):
                report.failed += 1
            else:
                report.retrying += 1
            voice = voice_of_forwarding_error(fate.message, retrying=isinstance(fate, Retrying))
            report.errors.append(
                {
                    "data_type": item.entity,
                    "message": fate.message,
                    # Who said it (server/forwarding/voices.py): Xero's words only when they are.
                    "voice": voice,
                    "xero_messages": [fate.message] if voice is Voice.XERO else [],
                    "record": item.record_id,
                    "upload_id": item.upload_id,
                    "mutation_id": getattr(item.mutation, "mutation_id", ""),
                    "field": fate.field if isinstance(fate, Failed) else "",
                    "retrying": isinstance(fate, Retrying),
                }
            )

    async def _refresh_invoices(self, xero_ids: list[str]) -> None:
        """After payments, Xero's own status and amounts of the invoices they paid."""
        try:
            current = await reconcile.invoices_by_id(self._client, sorted(set(xero_ids)))
        except XeroError:
            return  # the mirror's next pull of invoices brings them
        facts = {xero_id: mapping.invoice_facts_of(invoice) for xero_id, invoice in current.items()}
        await apply_invoice_facts(self._db, self._org, facts)


def _field_of(item: Claimed, message: str) -> str:
    """Which field of the upload's mutation a Xero validation message is about."""
    return KINDS.of(item.mutation).field_of(item.mutation, message)


def idempotency_key(tenant_id: str, operation: Operation, items: Sequence[Claimed], body: bytes) -> str:
    """Stable for the same items with the same content; new after an admin's retry (generation)."""
    digest = hashlib.sha256()
    digest.update(f"{tenant_id.lower()}|{operation.name}|".encode())
    digest.update(",".join(f"{item.upload_id}.{item.generation}" for item in items).encode())
    digest.update(b"|")
    digest.update(body)
    return f"ledgersync-{digest.hexdigest()[:48]}"
