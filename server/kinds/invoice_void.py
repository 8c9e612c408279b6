"""An invoice voided on a phone (``void_invoice``); to a WatermelonDB app, a deleted invoice.

Push: the invoice must exist, not be voided already and have no payments. Forward: Xero's
invoice is read first - one voided there already is done, and one that never left draft is
deleted instead (Xero voids only approved invoices); one that never reached Xero is voided on
the server only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from server.core.fate import Failed, Held, InXero
from server.core.push import Staging
from server.core.rejections import Rejected
from server.db.sync_models import Upload
from server.kinds.base import (
    NO_LONGER_IN_XERO,
    UNIT_DP_4,
    Job,
    Operation,
    Plan,
    PlanContext,
    Send,
    Settled,
    Unit,
    WatermelonPush,
    XeroReads,
)
from server.kinds.invoice import invoice_fate
from server.xero import wire
from sync_protocol.entities import Entity, Invoice
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import VoidInvoice


async def _read_status(jobs: list[Job], xero: XeroReads) -> tuple[list[Job], list[Settled]]:
    """Xero's invoice first: one gone is a failure, one voided already is done, and the element
    depends on its status (``void_element``)."""
    current = await xero.invoices_by_id([job.target for job in jobs])
    remaining: list[Job] = []
    settled: list[Settled] = []
    for job in jobs:
        invoice = current.get(job.target.lower())
        if invoice is None:
            settled.append((job.item, Failed(f"the invoice {NO_LONGER_IN_XERO}", "invoice_id"), None))
        elif invoice.status in ("VOIDED", "DELETED"):
            settled.append((job.item, invoice_fate(invoice), INVOICE_VOID))
        else:
            job.element = void_element(job.target, invoice.status)
            remaining.append(job)
    return remaining, settled


INVOICE_VOID = Operation(
    "invoice_void",
    "POST",
    "/Invoices",
    "Invoices",
    False,
    wire.Invoices,
    removes=True,
    params=UNIT_DP_4,
    id_key="InvoiceID",
    prepare=_read_status,
)


class InvoiceVoidKind:
    tag = "void_invoice"
    mutation_type = VoidInvoice
    plans_with_organisation = False
    operations: tuple[Operation, ...] = (INVOICE_VOID,)

    # --- push -----------------------------------------------------------------------------------
    def target(self, mutation: VoidInvoice) -> tuple[str, str]:
        return "invoice", mutation.invoice_id

    def referenced(self, mutation: VoidInvoice) -> list[str]:
        return [mutation.invoice_id]

    async def stage(self, mutation: VoidInvoice, staging: Staging) -> tuple[Entity, list[Upload]]:
        invoice = await staging.get(Invoice, mutation.invoice_id)
        if invoice is None:
            raise await staging.missing(
                mutation.invoice_id, ErrorCode.UNKNOWN_INVOICE, "invoice", "invoice_id"
            )
        if invoice.status in ("VOIDED", "DELETED"):
            raise Rejected(ErrorCode.ALREADY_VOIDED, f"the invoice is {invoice.status}", "invoice_id")
        if invoice.amount_paid > 0:
            raise Rejected(
                ErrorCode.INVOICE_HAS_PAYMENTS, "delete the invoice's payments first", "invoice_id"
            )
        record = msgspec.structs.replace(invoice, status="VOIDED", amount_due=Decimal("0.00"))
        return record, await staging.open_dependencies([mutation.invoice_id])

    def stored(self, mutation: VoidInvoice, replaced: Upload | None) -> VoidInvoice:
        return mutation

    # --- forward --------------------------------------------------------------------------------
    def forward_references(self, mutation: VoidInvoice) -> list[tuple[str, str]]:
        return [("invoice", mutation.invoice_id)]

    def plan(self, mutation: VoidInvoice, context: PlanContext) -> Plan:
        invoice = context.records.get(Invoice, mutation.invoice_id)
        if invoice is None or not invoice.xero_id:
            return Held("voided on the server only: the invoice never reached Xero")
        return Send(INVOICE_VOID, target=invoice.xero_id)

    def fate_of(self, element: Any) -> InXero:
        return invoice_fate(element)

    def field_of(self, mutation: VoidInvoice, message: str) -> str:
        return ""

    # --- WatermelonDB ---------------------------------------------------------------------------
    def watermelon_versioned(self, mutation: VoidInvoice) -> list[tuple[str, str | None]]:
        return []

    edits_have_bases = False

    def with_base(self, mutation: VoidInvoice, earlier: bytes, named: list[Any] | None) -> VoidInvoice:
        return mutation

    def same_as_server(self, mutation: VoidInvoice, payload: bytes) -> bool:
        return False  # a deletion of a record already voided is not pushed at all

    async def watermelon_changes(self, push: WatermelonPush) -> list[Unit]:
        return []

    async def watermelon_deletions(self, push: WatermelonPush) -> list[Unit]:
        """A deleted invoice the server has (and has not voided yet), with the deleted rows of its
        lines; deleting one the server does not have, or has voided already, is a no-op."""
        lines = push.table("invoice_lines").deleted
        invoices_of = await push.line_invoices(lines)
        units = []
        for invoice_id in push.table("invoices").deleted:
            invoice = await push.record(Invoice, "invoice", invoice_id)
            if invoice is not None and invoice.status not in ("VOIDED", "DELETED"):
                rows = [("invoices", invoice_id)]
                rows += [("invoice_lines", i) for i in lines if invoices_of.get(i) == invoice_id]
                units.append(
                    Unit(
                        "invoices",
                        invoice_id,
                        rows,
                        VoidInvoice(mutation_id="", invoice_id=invoice_id),
                        deletion=True,
                    )
                )
        return units


KIND = InvoiceVoidKind()


def void_element(xero_id: str, status_in_xero: str) -> dict[str, Any]:
    # Xero voids approved invoices; one that never left draft is deleted instead.
    status = "DELETED" if status_in_xero in ("DRAFT", "SUBMITTED") else "VOIDED"
    return {"InvoiceID": xero_id, "Status": status}
