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
from decimal import Decimal
from typing import Protocol

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import feed, merge, outbox
from server.core.invoices import build_invoice
from server.core.principals import DevicePrincipal
from server.core.records import RecordView, lock_organisation
from server.core.rejections import Rejected
from server.core.states import UploadState
from server.db.database import Database
from server.db.sync_models import Upload
from sync_protocol.entities import ENTITY_NAME, Address, Customer, Entity, Invoice, Payment, RecordSync
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import (
    AnyMutation,
    CreatePayment,
    DeletePayment,
    MutationResult,
    PushRequest,
    PushResponse,
    UpsertCustomer,
    UpsertInvoice,
    VoidInvoice,
)
from sync_protocol.money import to_decimal

_CLIENT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_result_decoder = msgspec.json.Decoder(MutationResult)
_ENTITY_TYPES = {name: cls for cls, name in ENTITY_NAME.items()}
_ATTEMPTS = 3  # a concurrent replay of the same mutation id loses the unique race; retry it as a replay


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


class PushService:
    """``on_accepted`` runs after each push commits: ``create_app`` wires it to wake the forwarding
    workers, so accepted uploads go to Xero without waiting for their next poll."""

    def __init__(self, database: Database, on_accepted: Callable[[], None] | None = None) -> None:
        self._db = database
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
                    batch = _Batch(session, device, judge_rejections_afresh=True)
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
                    response = await _Batch(session, device).run(request.mutations)
                self._on_accepted()
                return response
            except IntegrityError:
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")


class _Batch:
    def __init__(
        self, session: AsyncSession, device: DevicePrincipal, judge_rejections_afresh: bool = False
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
        self._edits: dict[str, AnyMutation] = {}  # edits as stored: with base and changed fields

    async def run(self, mutations: list[AnyMutation]) -> PushResponse:
        await lock_organisation(self._session, self._org)
        known = await outbox.find_uploads(self._session, self._org, [m.mutation_id for m in mutations])
        referenced = [i for m in mutations if m.mutation_id not in known for i in _referenced(m)]
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
        entity, record_id = _target(mutation)
        try:
            applied, depends_on = await self._validate_and_stage(mutation)
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
        stored = self._stored(mutation, replaced)
        upload = self._uploads.add(
            outbox.NewUpload(
                device_id=self._device.device_id,
                mutation_id=mutation.mutation_id,
                request_hash=_digest(encoded),
                kind=_kind(mutation),
                entity=entity,
                record_id=record_id,
                state=state,
                request=encoded if stored is mutation else msgspec.json.encode(stored),
                result=msgspec.json.encode(result),
                last_error=message,
                error_field=field,
            ),
            depends_on,
            replaced,
        )
        return upload, result

    def _stored(self, mutation: AnyMutation, replaced: Upload | None) -> AnyMutation:
        """The mutation as the outbox keeps it: an edit with its base and changed fields, and
        those of the refused upload it replaces (``server/core/merge.py``)."""
        stored = self._edits.pop(mutation.mutation_id, mutation)
        if isinstance(stored, UpsertCustomer) and replaced is not None and replaced.kind == "upsert_customer":
            earlier = msgspec.json.decode(replaced.request, type=UpsertCustomer)
            return merge.widened(stored, earlier)
        if isinstance(stored, UpsertInvoice) and replaced is not None and replaced.kind == "upsert_invoice":
            return merge.invoice_widened(stored, msgspec.json.decode(replaced.request, type=UpsertInvoice))
        return stored

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

    async def _validate_and_stage(self, mutation: AnyMutation) -> tuple[Entity, list[Upload]]:
        """The record the mutation produces and the uploads it must wait for; ``Rejected`` if bad.

        Side records (an invoice whose amount due a payment lowers) are staged in the view here;
        the mutation's own record is stamped with its upload state by the caller.
        """
        if isinstance(mutation, UpsertCustomer):
            return await self._customer(mutation)
        if isinstance(mutation, UpsertInvoice):
            return await self._invoice(mutation)
        if isinstance(mutation, CreatePayment):
            return await self._payment(mutation)
        if isinstance(mutation, VoidInvoice):
            return await self._void_invoice(mutation)
        return await self._delete_payment(mutation)

    async def _new_id(self, cls: type[Entity], record_id: str, field: str) -> None:
        if not _CLIENT_ID.match(record_id):
            raise Rejected(ErrorCode.INVALID_VALUE, "a new record's id must be a lowercase UUID", field)
        if await self._view.exists_as_other_entity(cls, record_id):
            raise Rejected(ErrorCode.ID_TAKEN, f"{record_id} names another kind of record", field)

    async def _gone_from_xero(self, cls: type[Entity], record_id: str) -> bool:
        """Whether the mirror had ``record_id`` from Xero and Xero no longer has it live."""
        return await self._view.removed_from_mirror(cls, record_id)

    async def _missing(self, record_id: str, code: ErrorCode, what: str, field: str) -> Rejected:
        if await self._uploads.was_rejected(record_id):
            return Rejected(
                ErrorCode.DEPENDENCY_REJECTED,
                f"{what} {record_id} was rejected, so this cannot apply",
                field,
                {"depends_on": record_id},
            )
        return Rejected(code, f"no {what} {record_id}", field)

    async def _customer(self, mutation: UpsertCustomer) -> tuple[Entity, list[Upload]]:
        draft = mutation.customer
        if mutation.base is not None and mutation.base.id != draft.id:
            raise Rejected(ErrorCode.INVALID_VALUE, "base.id must be the customer's id", "base.id")
        previous = await self._view.get(Customer, draft.id)
        if previous is None:
            if mutation.base is not None or await self._gone_from_xero(Customer, draft.id):
                # An edit of a customer archived or deleted in Xero since the phone last pulled:
                # creating it again would put a second copy in Xero.
                raise Rejected(
                    ErrorCode.UNKNOWN_CUSTOMER,
                    f"customer {draft.id} was archived or deleted in Xero; refresh to drop it",
                    "customer.id",
                )
            await self._new_id(Customer, draft.id, "customer.id")
        else:
            # An edit: only the fields the phone changed change (a Xero edit the mirror brought
            # since stays), and the forwarder merges them with Xero's record.
            stored = merge.edit_request(mutation, previous)
            self._edits[mutation.mutation_id] = stored
            assert stored.changed is not None
            record = merge.overlay(previous, draft, stored.changed)
            return record, await self._uploads.open_dependencies([draft.id])
        record = Customer(
            id=draft.id,
            xero_id=previous.xero_id if previous else None,
            name=draft.name,
            first_name=draft.first_name,
            last_name=draft.last_name,
            email=draft.email,
            phone=draft.phone,
            account_number=draft.account_number,
            tax_number=draft.tax_number,
            address=Address(**msgspec.structs.asdict(draft.address)) if draft.address else None,
            status=previous.status if previous else "ACTIVE",
        )
        return record, await self._uploads.open_dependencies([draft.id])

    async def _invoice(self, mutation: UpsertInvoice) -> tuple[Entity, list[Upload]]:
        draft = mutation.invoice
        if mutation.base is not None and mutation.base.id != draft.id:
            raise Rejected(ErrorCode.INVALID_VALUE, "base.id must be the invoice's id", "base.id")
        previous = await self._view.get(Invoice, draft.id)
        if previous is None:
            await self._new_id(Invoice, draft.id, "invoice.id")
        elif previous.status in ("VOIDED", "DELETED", "PAID"):
            raise Rejected(ErrorCode.INVOICE_NOT_EDITABLE, f"the invoice is {previous.status}", "invoice.id")
        elif previous.xero_id and not (await self._view.forwarding()).forward_invoice_edits:
            raise Rejected(
                ErrorCode.INVOICE_EDITS_NOT_FORWARDED,
                "the invoice is in Xero already and edits to it are not forwarded; change it in Xero",
                "invoice.id",
            )
        if await self._view.get(Customer, draft.customer_id) is None:
            raise await self._missing(
                draft.customer_id, ErrorCode.UNKNOWN_CUSTOMER, "customer", "invoice.customer_id"
            )
        record = await build_invoice(self._view, draft, previous)
        if previous is not None:
            record = msgspec.structs.replace(record, sync=previous.sync)
            # An edit: stored with its base and changed fields, for the forwarder's merge.
            self._edits[mutation.mutation_id] = merge.invoice_edit_request(mutation, previous)
        return record, await self._uploads.open_dependencies([draft.customer_id, draft.id])

    async def _payment(self, mutation: CreatePayment) -> tuple[Entity, list[Upload]]:
        draft = mutation.payment
        if await self._view.get(Payment, draft.id) is not None:
            raise Rejected(ErrorCode.ID_TAKEN, "a payment with this id exists already", "payment.id")
        await self._new_id(Payment, draft.id, "payment.id")
        invoice = await self._view.get(Invoice, draft.invoice_id)
        if invoice is None:
            raise await self._missing(
                draft.invoice_id, ErrorCode.UNKNOWN_INVOICE, "invoice", "payment.invoice_id"
            )
        if invoice.status in ("VOIDED", "DELETED"):
            raise Rejected(ErrorCode.ALREADY_VOIDED, f"the invoice is {invoice.status}", "payment.invoice_id")
        account_code = draft.account_code or (await self._view.forwarding()).bank_account_code
        if account_code is None:
            raise Rejected(
                ErrorCode.NO_BANK_ACCOUNT,
                "name the bank account: this organisation has not chosen one for payments",
                "payment.account_code",
            )
        account = await self._view.account(account_code)
        if account is None or not (account.type == "BANK" or account.enable_payments):
            raise Rejected(
                ErrorCode.UNKNOWN_ACCOUNT, f"no bank account {account_code}", "payment.account_code"
            )
        amount = to_decimal(draft.amount)
        if amount <= 0:
            raise Rejected(ErrorCode.INVALID_VALUE, "a payment amount must be positive", "payment.amount")
        if amount > invoice.amount_due:
            raise Rejected(
                ErrorCode.PAYMENT_EXCEEDS_AMOUNT_DUE,
                f"the payment {draft.amount} exceeds the amount due {invoice.amount_due}",
                "payment.amount",
                {"amount_due": str(invoice.amount_due), "got": draft.amount},
            )
        self._view.put(_paid(invoice, amount))
        record = Payment(
            id=draft.id,
            invoice_id=draft.invoice_id,
            account_code=account_code,
            date=draft.date,
            amount=amount,
            reference=draft.reference,
        )
        return record, await self._uploads.open_dependencies([draft.invoice_id])

    async def _void_invoice(self, mutation: VoidInvoice) -> tuple[Entity, list[Upload]]:
        invoice = await self._view.get(Invoice, mutation.invoice_id)
        if invoice is None:
            raise await self._missing(mutation.invoice_id, ErrorCode.UNKNOWN_INVOICE, "invoice", "invoice_id")
        if invoice.status in ("VOIDED", "DELETED"):
            raise Rejected(ErrorCode.ALREADY_VOIDED, f"the invoice is {invoice.status}", "invoice_id")
        if invoice.amount_paid > 0:
            raise Rejected(
                ErrorCode.INVOICE_HAS_PAYMENTS, "delete the invoice's payments first", "invoice_id"
            )
        record = msgspec.structs.replace(invoice, status="VOIDED", amount_due=Decimal("0.00"))
        return record, await self._uploads.open_dependencies([mutation.invoice_id])

    async def _delete_payment(self, mutation: DeletePayment) -> tuple[Entity, list[Upload]]:
        payment = await self._view.get(Payment, mutation.payment_id)
        if payment is None:
            raise await self._missing(mutation.payment_id, ErrorCode.UNKNOWN_PAYMENT, "payment", "payment_id")
        if payment.status == "DELETED":
            raise Rejected(ErrorCode.ALREADY_VOIDED, "the payment is deleted already", "payment_id")
        invoice = await self._view.get(Invoice, payment.invoice_id)
        if invoice is not None:
            self._view.put(_paid(invoice, -payment.amount))
        record = msgspec.structs.replace(payment, status="DELETED")
        return record, await self._uploads.open_dependencies([mutation.payment_id])


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


def _paid(invoice: Invoice, amount: Decimal) -> Invoice:
    """The invoice after a payment of ``amount`` (negative: a payment deleted)."""
    paid = invoice.amount_paid + amount
    due = invoice.total - paid
    status = "PAID" if due == 0 else ("AUTHORISED" if invoice.status == "PAID" else invoice.status)
    return msgspec.structs.replace(invoice, amount_paid=paid, amount_due=due, status=status)


def _referenced(mutation: AnyMutation) -> list[str]:
    """The records a mutation's validation looks up: read ahead for the whole batch."""
    if isinstance(mutation, UpsertCustomer):
        return [mutation.customer.id]
    if isinstance(mutation, UpsertInvoice):
        draft = mutation.invoice
        return [draft.id, draft.customer_id, *(li.product_id for li in draft.lines if li.product_id)]
    if isinstance(mutation, CreatePayment):
        return [mutation.payment.id, mutation.payment.invoice_id]
    if isinstance(mutation, VoidInvoice):
        return [mutation.invoice_id]
    return [mutation.payment_id]


def _target(mutation: AnyMutation) -> tuple[str, str]:
    """The (entity, record id) a mutation changes."""
    if isinstance(mutation, UpsertCustomer):
        return "customer", mutation.customer.id
    if isinstance(mutation, UpsertInvoice):
        return "invoice", mutation.invoice.id
    if isinstance(mutation, CreatePayment):
        return "payment", mutation.payment.id
    if isinstance(mutation, VoidInvoice):
        return "invoice", mutation.invoice_id
    return "payment", mutation.payment_id
