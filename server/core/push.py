"""Applying a push: each mutation validated, stored once under its mutation id, and published.

A push runs in one transaction holding the organisation's feed lock, so what a mutation checks
(an invoice's amount due) cannot change under it. Each mutation gets its own result; a rejected
one changes nothing but is remembered, so a replay answers the same and a mutation that refers
to its record is rejected as ``dependency_rejected``. Accepted records are published to the
feed with their upload state, so phones see them (and later their fate) on their next pull.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import feed, outbox
from server.core.principals import DevicePrincipal
from server.core.records import RecordView, lock_organisation
from server.core.rejections import Rejected
from server.core.states import UploadState
from server.db.database import Database
from server.db.forwarding_models import ForwardingSettings
from server.db.sync_models import Upload
from sync_protocol.entities import ENTITY_NAME, Account, Entity, RecordSync
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import AnyMutation, MutationResult, PushRequest, PushResponse

_CLIENT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_result_decoder = msgspec.json.Decoder(MutationResult)
_ENTITY_TYPES = {name: cls for cls, name in ENTITY_NAME.items()}
_ATTEMPTS = 3  # a concurrent replay of the same mutation id loses the unique race; retry it as a replay

E = TypeVar("E", bound=Entity)
M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class _Applied:
    entity: str
    record_id: str


def _hash(mutation: AnyMutation) -> str:
    return _digest(msgspec.json.encode(mutation))


def _digest(encoded: bytes) -> str:
    return hashlib.sha256(encoded).hexdigest()


def _kind(mutation: AnyMutation) -> str:
    return type(mutation).__struct_config__.tag  # type: ignore[return-value]


class BatchSteps(Protocol):
    """A caller's own steps around a push, run inside its transaction (``PushService.push_with``)."""

    async def before(self, session: AsyncSession) -> list[AnyMutation]:
        """Under the organisation's lock: the mutations to apply. Raise to abort the whole push."""
        ...

    async def after(self, session: AsyncSession, response: PushResponse) -> None:
        """Sees the results before commit; may write more. Raise to roll everything back."""
        ...


class MutationKind(Protocol[M]):
    """What the push batch needs of one kind of mutation; ``server/kinds`` holds one per kind and
    ``create_app`` hands their registry to ``PushService`` (the core never imports them)."""

    def target(self, mutation: M) -> tuple[str, str]:
        """The (entity, record id) the mutation changes."""
        ...

    def referenced(self, mutation: M) -> list[str]:
        """The records its validation looks up: read ahead for the whole batch."""
        ...

    async def stage(self, mutation: M, staging: Staging) -> tuple[Entity, list[Upload]]:
        """The record the mutation produces and the uploads it must wait for; ``Rejected`` if bad.

        Side records (an invoice whose amount due a payment lowers) are staged with
        ``staging.put``; the mutation's own record is stamped with its upload state by the batch.
        """
        ...

    def stored(self, mutation: M, replaced: Upload | None) -> M:
        """The mutation as the outbox keeps it, given the refused upload of the record it replaces
        (an edit widened by that upload's changed fields, ``server/core/merge.py``)."""
        ...


class PushKinds(Protocol):
    """The registry of mutation kinds, looked up by the mutation's type."""

    def of(self, mutation: AnyMutation) -> MutationKind[Any]: ...


class Staging:
    """What a kind's ``stage`` reads and writes: the batch's records and uploads, in its transaction."""

    def __init__(self, view: RecordView, uploads: outbox.UploadBatch) -> None:
        self.view = view
        self._uploads = uploads
        self.edits: dict[str, AnyMutation] = {}  # edits as stored: with base and changed fields

    async def get(self, cls: type[E], record_id: str) -> E | None:
        return await self.view.get(cls, record_id)

    def put(self, record: Entity) -> None:
        self.view.put(record)

    async def forwarding(self) -> ForwardingSettings:
        return await self.view.forwarding()

    async def account(self, code: str) -> Account | None:
        return await self.view.account(code)

    def keep_edit(self, mutation_id: str, stored: AnyMutation) -> None:
        """An edit stored with its base and changed fields, for the forwarder's merge."""
        self.edits[mutation_id] = stored

    async def open_dependencies(self, record_ids: list[str]) -> list[Upload]:
        return await self._uploads.open_dependencies(record_ids)

    async def new_id(self, cls: type[Entity], record_id: str, field: str) -> None:
        if not _CLIENT_ID.match(record_id):
            raise Rejected(ErrorCode.INVALID_VALUE, "a new record's id must be a lowercase UUID", field)
        if await self.view.exists_as_other_entity(cls, record_id):
            raise Rejected(ErrorCode.ID_TAKEN, f"{record_id} names another kind of record", field)

    async def gone_from_xero(self, cls: type[Entity], record_id: str) -> bool:
        """Whether the mirror had ``record_id`` from Xero and Xero no longer has it live."""
        return await self.view.removed_from_mirror(cls, record_id)

    async def missing(self, record_id: str, code: ErrorCode, what: str, field: str) -> Rejected:
        if await self._uploads.was_rejected(record_id):
            return Rejected(
                ErrorCode.DEPENDENCY_REJECTED,
                f"{what} {record_id} was rejected, so this cannot apply",
                field,
                {"depends_on": record_id},
            )
        return Rejected(code, f"no {what} {record_id}", field)


class PushService:
    """``kinds`` says what each mutation kind means (``server/kinds``); ``on_accepted`` runs after each
    push commits: ``create_app`` wires it to wake the forwarding workers, so accepted uploads go to Xero
    without waiting for their next poll."""

    def __init__(
        self, database: Database, kinds: PushKinds, on_accepted: Callable[[], None] | None = None
    ) -> None:
        self._db = database
        self._kinds = kinds
        self._on_accepted = on_accepted or (lambda: None)

    async def push_with(self, device: DevicePrincipal, steps: BatchSteps) -> PushResponse:
        """A push whose mutations a caller builds from the current state, atomically with it.

        For adapters of other sync contracts (WatermelonDB): checks that must see the state the
        batch applies to (a conflict), and bookkeeping that must commit with it. ``steps`` may run
        more than once (a retried race), each time in a fresh transaction.
        """
        for attempt in range(_ATTEMPTS):
            try:
                async with self._db.transaction() as session:
                    await lock_organisation(session, device.organisation_id)
                    batch = _Batch(session, device, self._kinds, judge_rejections_afresh=True)
                    response = await batch.run(await steps.before(session))
                    await steps.after(session, response)
                self._on_accepted()
                return response
            except IntegrityError:
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def push(self, device: DevicePrincipal, request: PushRequest) -> PushResponse:
        for attempt in range(_ATTEMPTS):
            try:
                async with self._db.transaction() as session:
                    response = await _Batch(session, device, self._kinds).run(request.mutations)
                self._on_accepted()
                return response
            except IntegrityError:
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")


class _Batch:
    def __init__(
        self,
        session: AsyncSession,
        device: DevicePrincipal,
        kinds: PushKinds,
        judge_rejections_afresh: bool = False,
    ) -> None:
        # Adapters whose mutation ids are derived from content (WatermelonDB re-pushes a rejected
        # record on every sync): a replayed rejection is judged again against today's tax rates,
        # accounts, settings and records; a replay of an applied mutation stays a replay.
        self._afresh = judge_rejections_afresh
        self._session = session
        self._device = device
        self._org = device.organisation_id
        self._view = RecordView(session, self._org)
        self._uploads = outbox.UploadBatch(session, self._org)
        self._kinds = kinds
        self._staging = Staging(self._view, self._uploads)

    async def run(self, mutations: list[AnyMutation]) -> PushResponse:
        await lock_organisation(self._session, self._org)
        kinds = self._kinds
        known = await outbox.find_uploads(self._session, self._org, [m.mutation_id for m in mutations])
        referenced = [i for m in mutations if m.mutation_id not in known for i in kinds.of(m).referenced(m)]
        await self._view.preload(referenced)
        await self._uploads.preload(referenced)
        results = []
        for mutation in mutations:
            prior = known.get(mutation.mutation_id)
            if prior is not None and not self._judged_afresh(prior, mutation):
                results.append(self._replay(prior, mutation))
                continue
            upload, result = await self._apply(mutation, prior)
            known[mutation.mutation_id] = upload
            results.append(result)
        await self._restamp_unblocked(await self._uploads.write())
        await feed.publish(self._session, self._org, self._view.changes())
        return PushResponse(results=results)

    def _replay(self, prior: Upload, mutation: AnyMutation) -> MutationResult:
        if prior.request_hash != _hash(mutation):
            return MutationResult(
                mutation_id=mutation.mutation_id,
                status="rejected",
                code=ErrorCode.MUTATION_ID_REUSED,
                message="this mutation id was used before for a different mutation",
                field="mutation_id",
            )
        return msgspec.structs.replace(_result_decoder.decode(prior.result), replayed=True)

    def _judged_afresh(self, prior: Upload, mutation: AnyMutation) -> bool:
        return self._afresh and prior.state == UploadState.REJECTED and prior.request_hash == _hash(mutation)

    async def _apply(
        self, mutation: AnyMutation, prior: Upload | None = None
    ) -> tuple[Upload, MutationResult]:
        """``prior``: this mutation's stored rejection, judged again (``_judged_afresh``)."""
        kind = self._kinds.of(mutation)
        entity, record_id = kind.target(mutation)
        try:
            applied, depends_on = await kind.stage(mutation, self._staging)
            state = UploadState.WAITING if depends_on else UploadState.ACCEPTED
            result = MutationResult(
                mutation_id=mutation.mutation_id, status="applied", entity=entity, record_id=record_id
            )
        except Rejected as rejection:
            applied, depends_on, state = None, [], UploadState.REJECTED
            result = MutationResult(
                mutation_id=mutation.mutation_id,
                status="rejected",
                entity=entity,
                record_id=record_id,
                code=rejection.code,
                message=rejection.message,
                field=rejection.field,
                details=rejection.details,
            )
        if prior is not None:
            if applied is None and msgspec.json.encode(result) == prior.result:
                # Nothing it was judged against changed: the same answer, nothing written.
                return prior, msgspec.structs.replace(result, replayed=True)
            # Judged differently now: the new judgement takes the stored one's place.
            await self._session.delete(prior)
            await self._session.flush()
        replaced = await self._failed_upload_of(record_id) if applied is not None else None
        if replaced is not None:
            depends_on = [d for d in depends_on if d is not replaced]
        message, field = "", ""
        if applied is not None:
            depends_on = await self._still_needed(depends_on, _kind(mutation))
            state, message, field = _arrival(depends_on, _kind(mutation))
            self._stamp(applied, mutation.mutation_id, state, message, field)
        # Encoded once: the hash is of the mutation as sent, which is also what is stored unless it
        # is an edit (stored with its base and changed fields).
        encoded = msgspec.json.encode(mutation)
        stored = kind.stored(self._staging.edits.pop(mutation.mutation_id, mutation), replaced)
        upload = self._uploads.add(
            outbox.NewUpload(
                device_id=self._device.device_id,
                mutation_id=mutation.mutation_id,
                request_hash=_digest(encoded),
                kind=_kind(mutation),
                entity=entity,
                record_id=record_id,
                state=state,
                # As stored: an edit with its base and changed fields (``Staging.keep_edit``), widened
                # by those of the refused upload it replaces (``server/core/merge.py``); else as sent.
                request=encoded if stored is mutation else msgspec.json.encode(stored),
                result=msgspec.json.encode(result),
                last_error=message,
                error_field=field,
            ),
            depends_on,
            replaced,
        )
        return upload, result

    async def _still_needed(self, depends_on: list[Upload], kind: str) -> list[Upload]:
        """Drops failed uploads a new one can go without: a failed edit of a record Xero has (a
        payment then goes to the invoice Xero has), and any failure for a void or payment deletion."""
        needed = []
        for dependency in depends_on:
            if dependency.state == UploadState.FAILED and (
                kind in outbox.REMOVALS or await self._in_xero(dependency)
            ):
                continue
            needed.append(dependency)
        return needed

    async def _in_xero(self, upload: Upload) -> bool:
        cls = _ENTITY_TYPES.get(upload.entity)
        record = await self._view.get(cls, upload.record_id) if cls is not None else None
        return record is not None and bool(record.xero_id)

    async def _restamp_unblocked(self, unblocked: list[Upload]) -> None:
        """Uploads a correction in this push unblocked: their records say what they wait for now."""
        for upload in unblocked:
            cls = _ENTITY_TYPES.get(upload.entity)
            record = await self._view.get(cls, upload.record_id) if cls is not None else None
            if record is not None and await self._uploads.latest(upload.record_id) is upload:
                self._stamp(record, upload.mutation_id, upload.state, upload.last_error)

    async def _failed_upload_of(self, record_id: str) -> Upload | None:
        """The record's latest upload if Xero refused it: a new upload of the record corrects it."""
        latest = await self._uploads.latest(record_id)
        return latest if latest is not None and latest.state == UploadState.FAILED else None

    def _stamp(
        self, record: Entity, mutation_id: str, state: str, message: str = "", field: str = ""
    ) -> None:
        sync = RecordSync(
            state=UploadState(state).on_wire, mutation_id=mutation_id, message=message, field=field
        )
        self._view.put(msgspec.structs.replace(record, sync=sync))


def _arrival(depends_on: list[Upload], kind: str) -> tuple[UploadState, str, str]:
    """(state, message, field) of a new upload: blocked behind a failure, waiting, or due now."""
    blocked = [d for d in depends_on if d.state == UploadState.FAILED]
    if blocked:
        return (
            UploadState.FAILED,
            outbox.blocked_message(blocked[0]),
            outbox.reference_field(kind, blocked[0].entity),
        )
    if depends_on:
        return UploadState.WAITING, outbox.waiting_message(depends_on), ""
    return UploadState.ACCEPTED, "", ""
