"""A payment recorded on a phone (``create_payment``): a payment on the invoice in Xero.

Push: a new id, an invoice that is not voided, a bank account (the phone's or the
organisation's), and an amount up to what is due; the invoice's amount due drops with it. Forward:
after its invoice is in Xero, unless the organisation keeps payments on the server; no field of
Xero's payments holds our id, so a lost answer is found by invoice, amount, date and reference.
WatermelonDB: one ``payments`` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from server.core.fate import Failed, Fate, Held, InXero
from server.core.push import Staging
from server.core.rejections import Rejected
from server.db.sync_models import Upload
from server.kinds.base import (
    Job,
    NotYet,
    Operation,
    Plan,
    PlanContext,
    Send,
    Unit,
    WatermelonPush,
    XeroReads,
    cancelled_by_void,
    kept_by_setting,
)
from server.kinds.rows import Unusable, convert, optional, same, sync_columns, text
from server.xero import wire
from sync_protocol.entities import Entity, Invoice, Payment
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import CreatePayment, PaymentDraft
from sync_protocol.money import to_decimal
from sync_protocol.watermelon import RawRecord, Rejection


def _paid_invoice(element: dict[str, Any]) -> str:
    xero_id: str = element["Invoice"]["InvoiceID"]
    return xero_id


async def _found_again(jobs: list[Job], since: datetime, xero: XeroReads) -> list[tuple[Job, Fate]]:
    """Creates found in Xero by invoice, amount, date and reference (no field can hold our id),
    among payments not DELETED and not linked to a record already; none is matched twice."""
    linked = await xero.linked_xero_ids("payment")
    candidates = [
        p
        for page in await xero.changed_since("/Payments", wire.Payments, since)
        for p in page.payments
        if p.status != "DELETED" and p.payment_id.lower() not in linked
    ]
    found: list[tuple[Job, Fate]] = []
    taken: set[str] = set()
    for job in jobs:
        key = _PaymentKey.of(job.element)
        for candidate in candidates:
            if candidate.payment_id not in taken and key.matches(candidate):
                found.append((job, InXero(candidate.payment_id)))
                taken.add(candidate.payment_id)
                break
    return found


@dataclass(frozen=True)
class _PaymentKey:
    """What identifies a payment ledgersync made: its invoice, amount, day and reference."""

    invoice_xero_id: str
    amount: Decimal
    day: date
    reference: str

    @classmethod
    def of(cls, element: dict[str, Any]) -> _PaymentKey:
        """The key of a payment element (``payment_element``)."""
        return cls(
            str(element["Invoice"]["InvoiceID"]).lower(),
            element["Amount"],
            date.fromisoformat(element["Date"]),
            element.get("Reference", ""),
        )

    def matches(self, payment: wire.Payment) -> bool:
        invoice = payment.invoice.invoice_id.lower() if payment.invoice else ""
        day = payment.date.date() if payment.date else None
        return (
            invoice == self.invoice_xero_id
            and payment.amount == self.amount
            and day == self.day
            and payment.reference == self.reference
        )


# ledgersync's own reason a payment cannot go (the console labels it so: server/forwarding/voices.py).
NO_BANK_ACCOUNT = "no bank account: an admin must choose the bank account for payments"

PAYMENT_CREATE = Operation(
    "payment_create",
    "PUT",
    "/Payments",
    "Payments",
    True,
    wire.Payments,
    id_key="PaymentID",
    links_mirror=True,  # the mirror's payments pull updates the phone's payment instead of adding a copy
    found_again=_found_again,
    changes_invoice=_paid_invoice,  # Xero's own status and amounts of the invoice it paid
)


class PaymentKind:
    tag = "create_payment"
    mutation_type = CreatePayment
    plans_with_organisation = False
    operations: tuple[Operation, ...] = (PAYMENT_CREATE,)

    # --- push -----------------------------------------------------------------------------------
    def target(self, mutation: CreatePayment) -> tuple[str, str]:
        return "payment", mutation.payment.id

    def referenced(self, mutation: CreatePayment) -> list[str]:
        return [mutation.payment.id, mutation.payment.invoice_id]

    async def stage(self, mutation: CreatePayment, staging: Staging) -> tuple[Entity, list[Upload]]:
        draft = mutation.payment
        if await staging.get(Payment, draft.id) is not None:
            raise Rejected(ErrorCode.ID_TAKEN, "a payment with this id exists already", "payment.id")
        await staging.new_id(Payment, draft.id, "payment.id")
        invoice = await staging.get(Invoice, draft.invoice_id)
        if invoice is None:
            raise await staging.missing(
                draft.invoice_id, ErrorCode.UNKNOWN_INVOICE, "invoice", "payment.invoice_id"
            )
        if invoice.status in ("VOIDED", "DELETED"):
            raise Rejected(ErrorCode.ALREADY_VOIDED, f"the invoice is {invoice.status}", "payment.invoice_id")
        account_code = draft.account_code or (await staging.forwarding()).bank_account_code
        if account_code is None:
            raise Rejected(
                ErrorCode.NO_BANK_ACCOUNT,
                "name the bank account: this organisation has not chosen one for payments",
                "payment.account_code",
            )
        account = await staging.account(account_code)
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
        staging.put(paid(invoice, amount))
        record = Payment(
            id=draft.id,
            invoice_id=draft.invoice_id,
            account_code=account_code,
            date=draft.date,
            amount=amount,
            reference=draft.reference,
        )
        return record, await staging.open_dependencies([draft.invoice_id])

    def stored(self, mutation: CreatePayment, replaced: Upload | None) -> CreatePayment:
        return mutation

    # --- forward --------------------------------------------------------------------------------
    def forward_references(self, mutation: CreatePayment) -> list[tuple[str, str]]:
        return [("invoice", mutation.payment.invoice_id)]

    def plan(self, mutation: CreatePayment, context: PlanContext) -> Plan:
        draft = mutation.payment
        cancelled = cancelled_by_void(context, draft.invoice_id)
        if cancelled is not None:
            return cancelled
        settings = context.settings
        if not settings.forward_payments:
            return Held(kept_by_setting("payments"))
        invoice = context.records.get(Invoice, draft.invoice_id)
        if invoice is None or not invoice.xero_id:
            return NotYet("the invoice is not in Xero yet")
        account = draft.account_code or settings.bank_account_code
        if account is None:
            return Failed(NO_BANK_ACCOUNT, "payment.account_code")
        return Send(PAYMENT_CREATE, payment_element(draft, invoice.xero_id, account))

    def fate_of(self, element: Any) -> InXero:
        return InXero(element.payment_id)

    def field_of(self, mutation: CreatePayment, message: str) -> str:
        lowered = message.lower()
        if "amount" in lowered:
            return "payment.amount"
        if "account" in lowered:
            return "payment.account_code"
        if "invoice" in lowered or "authorised" in lowered or "document" in lowered:
            return "payment.invoice_id"
        return ""

    # --- WatermelonDB ---------------------------------------------------------------------------
    def watermelon_versioned(self, mutation: CreatePayment) -> list[tuple[str, str | None]]:
        return [("invoice", mutation.payment.invoice_id)]

    edits_have_bases = False

    def with_base(self, mutation: CreatePayment, earlier: bytes, named: list[Any] | None) -> CreatePayment:
        return mutation

    def same_as_server(self, mutation: CreatePayment, payload: bytes) -> bool:
        payment = msgspec.json.decode(payload, type=Payment)
        # A payment pushed without an account went to the organisation's: that is what it asked for.
        pushed = msgspec.structs.replace(
            mutation.payment, account_code=mutation.payment.account_code or payment.account_code
        )
        return same(pushed, draft_of_row(row(payment)))

    async def watermelon_changes(self, push: WatermelonPush) -> list[Unit]:
        changes = push.table("payments")
        units = []
        for raw in changes.created + changes.updated:
            unit = Unit("payments", raw["id"], [("payments", raw["id"])])
            try:
                unit.mutation = CreatePayment(mutation_id="", payment=draft_of_row(raw))
            except Unusable as exc:
                unit.rejection = Rejection(
                    table="payments",
                    id=unit.record_id,
                    code=ErrorCode.INVALID_INPUT,
                    message=exc.message,
                    field=exc.field,
                )
            units.append(unit)
        return units

    async def watermelon_deletions(self, push: WatermelonPush) -> list[Unit]:
        return []  # a deleted payment is a payment deletion (``payment_deletion``)


KIND = PaymentKind()


def paid(invoice: Invoice, amount: Decimal) -> Invoice:
    """The invoice after a payment of ``amount`` (negative: a payment deleted)."""
    paid = invoice.amount_paid + amount
    due = invoice.total - paid
    status = "PAID" if due == 0 else ("AUTHORISED" if invoice.status == "PAID" else invoice.status)
    return msgspec.structs.replace(invoice, amount_paid=paid, amount_due=due, status=status)


def payment_element(draft: PaymentDraft, invoice_xero_id: str, account_code: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "Invoice": {"InvoiceID": invoice_xero_id},
        "Account": {"Code": account_code},
        "Date": draft.date.isoformat(),
        "Amount": to_decimal(draft.amount),
    }
    if draft.reference:
        element["Reference"] = draft.reference
    return element


# --- WatermelonDB rows ----------------------------------------------------------------------------
def row(record: Payment) -> RawRecord:
    return {
        "id": record.id,
        "xero_id": record.xero_id,
        "invoice_id": record.invoice_id,
        "account_code": record.account_code,
        "date": record.date.isoformat(),
        "amount": str(record.amount),
        "reference": record.reference,
        "status": record.status,
        **sync_columns(record.sync),
    }


def draft_of_row(raw: RawRecord) -> PaymentDraft:
    draft: PaymentDraft = convert(
        {
            "id": raw.get("id"),
            "invoice_id": raw.get("invoice_id"),
            "account_code": optional(raw, "account_code"),
            "date": raw.get("date"),
            "amount": raw.get("amount"),
            "reference": text(raw, "reference"),
        },
        PaymentDraft,
        "payment",
    )
    return draft
