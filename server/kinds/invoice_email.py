"""A phone's request that Xero email an invoice to its customer (``email_invoice``).

Push: the invoice must exist and not be voided, and the organisation must let phones do this
(``email_invoices``); it waits for the invoice's upload. Forward: once the invoice is in Xero and
approved, ``POST /Invoices/{id}/Email`` (Xero sends it to the contact's address), exactly once.

Exactly once, without Xero's help: the upload's ``sent_at`` is committed when a worker claims it,
before the request goes (the intent), so a worker that dies or loses the answer leaves an upload
that *may* have been sent (``ambiguous``). Such an upload is never sent again blindly: Xero's
invoice is read first, and its ``SentToContact`` (set by Xero when it emails an invoice) decides -
true: it was sent, done; false: Xero never took it, so it goes (with the same Idempotency-Key, which
Xero would replay if it did take it after all). An invoice already marked sent in Xero by other
means (a Xero user emailed it) is then counted as sent: the customer has it, and a second email is
the defect to avoid. WatermelonDB: not a table of its own (a native mutation only).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from server.core.fate import Failed, InXero
from server.core.push import Staging
from server.core.rejections import Rejected
from server.db.sync_models import Upload
from server.kinds.base import (
    NO_LONGER_IN_XERO,
    Job,
    Operation,
    Plan,
    PlanContext,
    Send,
    Unit,
    WatermelonPush,
    XeroReads,
    cancelled_by_void,
)
from sync_protocol.entities import Entity, Invoice
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import EmailInvoice

# Xero emails only approved invoices (a DRAFT it refuses): ledgersync's own reason, said before sending.
NOT_APPROVED = "not emailed: Xero emails only approved invoices, and this one is {status} in Xero"


async def _already_sent(job: Job, xero: XeroReads) -> bool:
    """For a request that may have reached Xero: Xero's invoice says whether it was emailed."""
    invoice = (await xero.invoices_by_id([job.target])).get(job.target.lower())
    return invoice is not None and invoice.sent_to_contact


def _sent(job: Job, element: Any, fate: InXero) -> InXero:
    """Sent: phones see the invoice ``emailed``."""
    return dataclasses.replace(fate, fields={"emailed": True})


INVOICE_EMAIL = Operation(
    "invoice_email",
    "POST",
    "/Invoices",
    "",  # the body is Xero's RequestEmpty, ``{}``
    False,
    None,  # 204, no body
    id_key="InvoiceID",
    one_by_one=True,
    suffix="/Email",
    already_done=_already_sent,
    answered=_sent,
)


class InvoiceEmailKind:
    tag = "email_invoice"
    mutation_type = EmailInvoice
    plans_with_organisation = False
    operations: tuple[Operation, ...] = (INVOICE_EMAIL,)

    # --- push -----------------------------------------------------------------------------------
    def target(self, mutation: EmailInvoice) -> tuple[str, str]:
        return "invoice", mutation.invoice_id

    def referenced(self, mutation: EmailInvoice) -> list[str]:
        return [mutation.invoice_id]

    async def stage(self, mutation: EmailInvoice, staging: Staging) -> tuple[Entity, list[Upload]]:
        if not (await staging.forwarding()).email_invoices:
            raise Rejected(
                ErrorCode.INVOICE_EMAILS_NOT_ALLOWED,
                "this organisation does not let phones have Xero email invoices",
                "invoice_id",
            )
        invoice = await staging.get(Invoice, mutation.invoice_id)
        if invoice is None:
            raise await staging.missing(
                mutation.invoice_id, ErrorCode.UNKNOWN_INVOICE, "invoice", "invoice_id"
            )
        if invoice.status in ("VOIDED", "DELETED"):
            raise Rejected(ErrorCode.ALREADY_VOIDED, f"the invoice is {invoice.status}", "invoice_id")
        return invoice, await staging.open_dependencies([mutation.invoice_id])

    def stored(self, mutation: EmailInvoice, replaced: Upload | None) -> EmailInvoice:
        return mutation

    # --- forward --------------------------------------------------------------------------------
    def forward_references(self, mutation: EmailInvoice) -> list[tuple[str, str]]:
        return [("invoice", mutation.invoice_id)]

    def plan(self, mutation: EmailInvoice, context: PlanContext) -> Plan:
        cancelled = cancelled_by_void(context, mutation.invoice_id)
        if cancelled is not None:
            return cancelled
        invoice = context.records.get(Invoice, mutation.invoice_id)
        if invoice is None or not invoice.xero_id:
            return Failed(f"not emailed: the invoice {NO_LONGER_IN_XERO}", "invoice_id")
        if invoice.status not in ("AUTHORISED", "PAID"):
            return Failed(NOT_APPROVED.format(status=invoice.status), "invoice_id")
        return Send(INVOICE_EMAIL, {}, target=invoice.xero_id)

    def fate_of(self, element: Any) -> InXero:
        raise NotImplementedError("an email is sent one by one; its fate is the invoice's Xero id")

    def field_of(self, mutation: EmailInvoice, message: str) -> str:
        return "invoice_id"

    # --- WatermelonDB ---------------------------------------------------------------------------
    def watermelon_versioned(self, mutation: EmailInvoice) -> list[tuple[str, str | None]]:
        return []

    edits_have_bases = False

    def with_base(self, mutation: EmailInvoice, earlier: bytes, named: list[Any] | None) -> EmailInvoice:
        return mutation

    def same_as_server(self, mutation: EmailInvoice, payload: bytes) -> bool:
        return False

    async def watermelon_changes(self, push: WatermelonPush) -> list[Unit]:
        return []

    async def watermelon_deletions(self, push: WatermelonPush) -> list[Unit]:
        return []


KIND = InvoiceEmailKind()
