"""A payment deleted on a phone (``delete_payment``); to a WatermelonDB app, a deleted payment.

Push: the payment must exist and not be deleted already; its invoice's amount due rises again.
Forward: the payment is deleted in Xero (one request per payment: Xero deletes them by id); one
that never reached Xero is deleted on the server only.
"""

from __future__ import annotations

from typing import Any

import msgspec

from server.core.fate import Held, InXero
from server.core.push import Staging
from server.core.rejections import Rejected
from server.db.sync_models import Upload
from server.kinds.base import Job, Operation, Plan, PlanContext, Send, Unit, WatermelonPush, XeroReads
from server.kinds.payment import paid
from server.xero import wire
from sync_protocol.entities import Entity, Invoice, Payment
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import DeletePayment


async def _already_deleted(job: Job, xero: XeroReads) -> bool:
    return await xero.payment_status(job.target) == "DELETED"


# Xero deletes payments one at a time, by id: POST /Payments/{id} {"Payments": [{"Status": "DELETED"}]}.
PAYMENT_DELETE = Operation(
    "payment_delete",
    "POST",
    "/Payments",
    "Payments",
    False,
    wire.Payments,
    removes=True,
    id_key="PaymentID",
    one_by_one=True,
    already_done=_already_deleted,
)


class PaymentDeletionKind:
    tag = "delete_payment"
    mutation_type = DeletePayment
    plans_with_organisation = False
    operations: tuple[Operation, ...] = (PAYMENT_DELETE,)

    # --- push -----------------------------------------------------------------------------------
    def target(self, mutation: DeletePayment) -> tuple[str, str]:
        return "payment", mutation.payment_id

    def referenced(self, mutation: DeletePayment) -> list[str]:
        return [mutation.payment_id]

    async def stage(self, mutation: DeletePayment, staging: Staging) -> tuple[Entity, list[Upload]]:
        payment = await staging.get(Payment, mutation.payment_id)
        if payment is None:
            raise await staging.missing(
                mutation.payment_id, ErrorCode.UNKNOWN_PAYMENT, "payment", "payment_id"
            )
        if payment.status == "DELETED":
            raise Rejected(ErrorCode.ALREADY_VOIDED, "the payment is deleted already", "payment_id")
        invoice = await staging.get(Invoice, payment.invoice_id)
        if invoice is not None:
            staging.put(paid(invoice, -payment.amount))
        record = msgspec.structs.replace(payment, status="DELETED")
        return record, await staging.open_dependencies([mutation.payment_id])

    def stored(self, mutation: DeletePayment, replaced: Upload | None) -> DeletePayment:
        return mutation

    # --- forward --------------------------------------------------------------------------------
    def forward_references(self, mutation: DeletePayment) -> list[tuple[str, str]]:
        return [("payment", mutation.payment_id)]

    def plan(self, mutation: DeletePayment, context: PlanContext) -> Plan:
        payment = context.records.get(Payment, mutation.payment_id)
        if payment is None or not payment.xero_id:
            return Held("deleted on the server only: the payment never reached Xero")
        return Send(PAYMENT_DELETE, {"Status": "DELETED"}, target=payment.xero_id)

    def fate_of(self, element: Any) -> InXero:
        return InXero(element.payment_id)

    def field_of(self, mutation: DeletePayment, message: str) -> str:
        return ""

    # --- WatermelonDB ---------------------------------------------------------------------------
    def watermelon_versioned(self, mutation: DeletePayment) -> list[tuple[str, str | None]]:
        return []

    edits_have_bases = False

    def with_base(self, mutation: DeletePayment, earlier: bytes, named: list[Any] | None) -> DeletePayment:
        return mutation

    def same_as_server(self, mutation: DeletePayment, payload: bytes) -> bool:
        return False  # a deletion of a record already deleted is not pushed at all

    async def watermelon_changes(self, push: WatermelonPush) -> list[Unit]:
        return []

    async def watermelon_deletions(self, push: WatermelonPush) -> list[Unit]:
        """A deleted payment the server has (and has not deleted yet); deleting one the server does
        not have, or has deleted already, is a no-op."""
        units = []
        for payment_id in push.table("payments").deleted:
            payment = await push.record(Payment, "payment", payment_id)
            if payment is not None and payment.status != "DELETED":
                units.append(
                    Unit(
                        "payments",
                        payment_id,
                        [("payments", payment_id)],
                        DeletePayment(mutation_id="", payment_id=payment_id),
                        deletion=True,
                    )
                )
        return units


KIND = PaymentDeletionKind()
