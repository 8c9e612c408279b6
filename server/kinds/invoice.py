"""An invoice created or edited on a phone (``upsert_invoice``): an ACCREC invoice in Xero.

Push: the server recomputes its lines, taxes and totals (``server.core.invoices``); it needs its
customer, and an edit needs an invoice that is still editable (and, once in Xero, an
organisation that forwards invoice edits). Forward: a create after its customer is in Xero
(``Url`` holds the backlink to ledgersync, so a create whose answer was lost is found again), or
an edit merged with Xero's invoice; each line's account and tax type come from the line, its
product or the organisation. WatermelonDB: one ``invoices`` row and its ``invoice_lines`` rows.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from server.core import merge
from server.core.fate import Failed, Fate, InXero, Problem
from server.core.invoices import FALLBACK_DESCRIPTION, build_invoice, default_due_date
from server.core.push import Staging
from server.core.rejections import Rejected
from server.db.sync_models import Upload
from server.kinds.base import (
    UNIT_DP_4,
    Job,
    NotYet,
    Operation,
    Plan,
    PlanContext,
    Send,
    Settled,
    Unit,
    WatermelonPush,
    XeroReads,
    cancelled_by_void,
)
from server.kinds.rows import Unusable, convert, decimal_text, optional, same, sync_columns, text
from server.xero import wire
from server.xero_link import mapping
from sync_protocol import drafts
from sync_protocol.entities import Customer, Entity, Invoice, Product
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import INVOICE_FIELDS, InvoiceDraft, InvoiceField, UpsertInvoice
from sync_protocol.money import to_decimal
from sync_protocol.watermelon import RawRecord, Rejection


async def _merged(jobs: list[Job], xero: XeroReads) -> tuple[list[Job], list[Settled]]:
    """Invoice edits merged with Xero's current invoices at the level of their top-level fields:
    each job sends only the fields the phone changed (reference and dates merged field by field,
    the lines and the customer when the phone changed them); nothing to send is done."""
    if not jobs:
        return jobs, []
    current = await xero.invoices_by_id([job.element["InvoiceID"] for job in jobs])
    policy = await xero.merge_policy()
    remaining: list[Job] = []
    settled: list[Settled] = []
    for job in jobs:
        mutation = job.item.mutation
        invoice = current.get(str(job.element["InvoiceID"]).lower())
        edit = merge.invoice_edit_of(mutation) if invoice and isinstance(mutation, UpsertInvoice) else None
        if invoice is None or edit is None:
            remaining.append(job)  # sent whole, as stored before edits carried their base
            continue
        merged = merge.merge(merge.xero_invoice_values(invoice, edit), edit, policy)
        job.conflicts = merged.conflicts
        fields = merge.invoice_record_fields(merged.values)
        job.fields = fields
        if merged.send:
            keep = {"InvoiceID", *(key for name in merged.send for key in merge.INVOICE_KEYS[name])}
            job.element = {key: value for key, value in job.element.items() if key in keep}
            remaining.append(job)
        else:
            fate = dataclasses.replace(
                invoice_fate(invoice), fields=fields, note=merge.note_of(merged.conflicts)
            )
            settled.append((job.item, fate, INVOICE_UPDATE))
    return remaining, settled


async def _found_again(jobs: list[Job], since: datetime, xero: XeroReads) -> list[tuple[Job, Fate]]:
    """Creates found in Xero by their backlink, or by contact, date, reference and total."""
    keys = {job.item.record_id: _invoice_key(job.element, _total(job)) for job in jobs}
    pages = await xero.changed_since(
        "/Invoices", wire.Invoices, since, {"where": 'Type=="ACCREC"', "unitdp": "4"}
    )
    invoices = _made_by(
        keys, [i for page in pages for i in page.invoices], await xero.linked_xero_ids("invoice")
    )
    return [
        (job, _checked(job, invoices[job.item.record_id], invoice_fate(invoices[job.item.record_id])))
        for job in jobs
        if job.item.record_id in invoices
    ]


@dataclass(frozen=True)
class _InvoiceKey:
    """What identifies an invoice ledgersync created, without its ``Url`` (which Xero may drop)."""

    contact_xero_id: str
    day: date | None
    reference: str
    total: Decimal


def _invoice_key(element: dict[str, Any], total: Decimal) -> _InvoiceKey:
    """The key of a create element (``invoice_element``) whose draft totals ``total``."""
    contact = element.get("Contact") or {}
    raw_day = element.get("Date")
    return _InvoiceKey(
        contact_xero_id=str(contact.get("ContactID") or "").lower(),
        day=date.fromisoformat(raw_day) if isinstance(raw_day, str) else None,
        reference=str(element.get("Reference") or ""),
        total=total,
    )


def _made_by(
    keys: dict[str, _InvoiceKey], changed: list[wire.Invoice], linked: set[str]
) -> dict[str, wire.Invoice]:
    """The invoices of ``changed`` made by the creates of ``keys`` (by record id): by ``Url``
    backlink first, then by key among invoices carrying no backlink, not DELETED, and not linked to
    a record already (``linked``: lower-case Xero ids). None is matched twice."""
    found: dict[str, wire.Invoice] = {}
    candidates: list[wire.Invoice] = []
    for invoice in changed:
        record_id = record_id_of_backlink(invoice.url)
        if record_id is not None and record_id in keys:
            found[record_id] = invoice
        elif record_id is None and invoice.status != "DELETED":
            candidates.append(invoice)
    taken = {invoice.invoice_id.lower() for invoice in found.values()} | linked
    for record_id, key in keys.items():
        if record_id in found:
            continue
        for invoice in candidates:
            if invoice.invoice_id.lower() not in taken and _same_invoice(invoice, key):
                found[record_id] = invoice
                taken.add(invoice.invoice_id.lower())
                break
    return found


def _same_invoice(invoice: wire.Invoice, key: _InvoiceKey) -> bool:
    contact = invoice.contact.contact_id.lower() if invoice.contact else ""
    day = invoice.date.date() if invoice.date else None
    return (
        contact == key.contact_xero_id
        and day == key.day
        and invoice.reference == key.reference
        and invoice.total == key.total
    )


def _total(job: Job) -> Decimal:
    mutation = job.item.mutation
    return to_decimal(mutation.invoice.total) if isinstance(mutation, UpsertInvoice) else Decimal(-1)


def _answered(job: Job, element: Any, fate: InXero) -> InXero:
    """A merged edit's fate carries the fields the merge settled, and what was resolved; one that
    sent the phone's lines says whether Xero's totals are the phone's."""
    if "LineItems" in job.element:
        fate = _checked(job, element, fate)
    if job.conflicts is None:
        return fate
    return dataclasses.replace(fate, fields=job.fields, note=merge.note_of(job.conflicts))


def _checked(job: Job, element: Any, fate: InXero) -> InXero:
    """The fate, saying so when Xero's totals of the invoice are not the upload's."""
    mutation = job.item.mutation
    if not isinstance(mutation, UpsertInvoice) or not isinstance(element, wire.Invoice):
        return fate
    problem = totals_problem(mutation.invoice, element)
    return dataclasses.replace(fate, problem=problem) if problem is not None else fate


def totals_problem(draft: InvoiceDraft, invoice: wire.Invoice) -> Problem | None:
    """``xero_totals_differ`` when Xero's SubTotal, TotalTax or Total are not the phone's, and by how much."""
    pairs = {
        "SubTotal": (invoice.sub_total, to_decimal(draft.sub_total)),
        "TotalTax": (invoice.total_tax, to_decimal(draft.total_tax)),
        "Total": (invoice.total, to_decimal(draft.total)),
    }
    differ = {key: (xero, phone) for key, (xero, phone) in pairs.items() if xero != phone}
    if not differ:
        return None
    said = "; ".join(
        f"{key} {xero} in Xero, {phone} on the phone ({xero - phone:+})"
        for key, (xero, phone) in differ.items()
    )
    details: dict[str, object] = {
        key: {"xero": str(xero), "phone": str(phone), "difference": str(xero - phone)}
        for key, (xero, phone) in differ.items()
    }
    return Problem(ErrorCode.XERO_TOTALS_DIFFER, f"Xero's totals differ from the phone's: {said}", details)


INVOICE_CREATE = Operation(
    "invoice_create",
    "PUT",
    "/Invoices",
    "Invoices",
    True,
    wire.Invoices,
    params=UNIT_DP_4,
    id_key="InvoiceID",
    found_again=_found_again,
    answered=_checked,
    online_invoice=True,
)
INVOICE_UPDATE = Operation(
    "invoice_update",
    "POST",
    "/Invoices",
    "Invoices",
    False,
    wire.Invoices,
    params=UNIT_DP_4,
    id_key="InvoiceID",
    refused_record="invoice",
    prepare=_merged,
    answered=_answered,
    online_invoice=True,
)

_QUOTED = re.compile(r"'([^']*)'")


class InvoiceKind:
    tag = "upsert_invoice"
    mutation_type = UpsertInvoice
    plans_with_organisation = True
    operations: tuple[Operation, ...] = (INVOICE_CREATE, INVOICE_UPDATE)

    # --- push -----------------------------------------------------------------------------------
    def target(self, mutation: UpsertInvoice) -> tuple[str, str]:
        return "invoice", mutation.invoice.id

    def referenced(self, mutation: UpsertInvoice) -> list[str]:
        draft = mutation.invoice
        return [draft.id, draft.customer_id, *(li.product_id for li in draft.lines if li.product_id)]

    async def stage(self, mutation: UpsertInvoice, staging: Staging) -> tuple[Entity, list[Upload]]:
        draft = mutation.invoice
        if mutation.base is not None and mutation.base.id != draft.id:
            raise Rejected(ErrorCode.INVALID_VALUE, "base.id must be the invoice's id", "base.id")
        previous = await staging.get(Invoice, draft.id)
        if previous is None:
            await staging.new_id(Invoice, draft.id, "invoice.id")
        elif previous.status in ("VOIDED", "DELETED", "PAID"):
            raise Rejected(ErrorCode.INVOICE_NOT_EDITABLE, f"the invoice is {previous.status}", "invoice.id")
        elif previous.xero_id and not (await staging.forwarding()).forward_invoice_edits:
            raise Rejected(
                ErrorCode.INVOICE_EDITS_NOT_FORWARDED,
                "the invoice is in Xero already and edits to it are not forwarded; change it in Xero",
                "invoice.id",
            )
        if await staging.get(Customer, draft.customer_id) is None:
            raise await staging.missing(
                draft.customer_id, ErrorCode.UNKNOWN_CUSTOMER, "customer", "invoice.customer_id"
            )
        record = await build_invoice(staging.view, draft, previous)
        if previous is not None:
            record = msgspec.structs.replace(record, sync=previous.sync)
            # An edit: stored with its base and changed fields, for the forwarder's merge.
            staging.keep_edit(mutation.mutation_id, merge.invoice_edit_request(mutation, previous))
        return record, await staging.open_dependencies([draft.customer_id, draft.id])

    def stored(self, mutation: UpsertInvoice, replaced: Upload | None) -> UpsertInvoice:
        if replaced is not None and replaced.kind == self.tag:
            return merge.invoice_widened(mutation, msgspec.json.decode(replaced.request, type=UpsertInvoice))
        return mutation

    # --- forward --------------------------------------------------------------------------------
    def forward_references(self, mutation: UpsertInvoice) -> list[tuple[str, str]]:
        draft = mutation.invoice
        products = [("product", line.product_id) for line in draft.lines if line.product_id]
        return [("invoice", draft.id), ("customer", draft.customer_id), *products]

    def plan(self, mutation: UpsertInvoice, context: PlanContext) -> Plan:
        draft = mutation.invoice
        cancelled = cancelled_by_void(context, draft.id)
        if cancelled is not None:
            return cancelled
        records, settings, organisation = context.records, context.settings, context.organisation
        invoice = records.get(Invoice, draft.id)
        customer = records.get(Customer, draft.customer_id)
        if customer is None:
            # The customer was there when the phone uploaded the invoice; a Xero user archived or
            # deleted it since, and the mirror dropped it: waiting would wait forever.
            return Failed(
                f"the customer {draft.customer_id} was archived or deleted in Xero; choose another "
                "customer for this invoice, or restore the contact in Xero",
                "invoice.customer_id",
            )
        if not customer.xero_id:
            return NotYet("the customer is not in Xero yet")
        products: dict[str, Product] = {}
        for line in draft.lines:
            if line.product_id and line.product_id not in products:
                product = records.get(Product, line.product_id)
                if product is not None:
                    if not product.xero_id:  # a phone's product, its item not made yet
                        return NotYet("a product on the invoice is not in Xero yet")
                    products[line.product_id] = product
        tracking: dict[str, tuple[str, str]] = {}
        for n, line in enumerate(draft.lines):
            for option_id in line.tracking:
                ids = context.xero_ids.tracking.get(option_id)
                if ids is None:
                    # Accepted against the mirror; the option was deleted in Xero since.
                    return Failed(
                        f"the tracking option {option_id} is no longer in Xero; choose another",
                        f"invoice.lines[{n}].tracking",
                    )
                tracking[option_id] = ids
        theme_xero_id: str | None = None
        if draft.branding_theme_id is not None:
            theme_xero_id = context.xero_ids.themes.get(draft.branding_theme_id)
            if theme_xero_id is None:
                return Failed(
                    f"the branding theme {draft.branding_theme_id} is no longer in Xero; choose another",
                    "invoice.branding_theme_id",
                )
        invoice_context = InvoiceContext(
            contact_xero_id=customer.xero_id,
            tracking=tracking,
            branding_theme_xero_id=theme_xero_id,
            products=products,
            revenue_account_code=settings.revenue_account_code,
            default_tax_type=organisation.default_sales_tax_type if organisation else None,
            status="DRAFT" if settings.invoice_status == "DRAFT" else "AUTHORISED",
            url=backlink(context.base_url, draft.id),
            # The phone's, else the one the record got from payment terms at push, else by terms now.
            due_date=draft.due_date
            or (invoice.due_date if invoice is not None else None)
            or default_due_date(draft.date, customer, organisation),
        )
        xero_id = invoice.xero_id if invoice else None
        try:
            element = invoice_element(draft, invoice_context, xero_id)
        except MissingAccount as missing:
            return Failed(str(missing), f"invoice.lines[{missing.line}].account_code")
        return Send(INVOICE_UPDATE if xero_id else INVOICE_CREATE, element)

    def fate_of(self, element: Any) -> InXero:
        return invoice_fate(element)

    def field_of(self, mutation: UpsertInvoice, message: str) -> str:
        lowered = message.lower()
        quoted = _QUOTED.search(message)
        value = quoted.group(1) if quoted else None
        lines = mutation.invoice.lines
        if "account code" in lowered:
            for n, line in enumerate(lines):
                if value is not None and line.account_code == value:
                    return f"invoice.lines[{n}].account_code"
            return "invoice.lines[].account_code"
        if "taxtype" in lowered or "tax type" in lowered:
            for n, line in enumerate(lines):
                if value is not None and line.tax_type == value:
                    return f"invoice.lines[{n}].tax_type"
            return "invoice.lines[].tax_type"
        if "item code" in lowered:
            return "invoice.lines[].product_id"
        if "tracking" in lowered:
            return self._tracking_field(mutation, message)
        if "branding theme" in lowered or "brandingtheme" in lowered:
            return "invoice.branding_theme_id"
        if "contact" in lowered:
            return "invoice.customer_id"
        if "status" in lowered or "payment" in lowered:
            return "invoice.id"
        if "date" in lowered:
            return "invoice.due_date" if "due" in lowered else "invoice.date"
        return ""

    @staticmethod
    def _tracking_field(mutation: UpsertInvoice, message: str) -> str:
        """The line whose tracking Xero refused: the only line with tracking, else unknown."""
        tracked = [n for n, line in enumerate(mutation.invoice.lines) if line.tracking]
        return f"invoice.lines[{tracked[0]}].tracking" if len(tracked) == 1 else "invoice.lines[].tracking"

    # --- WatermelonDB ---------------------------------------------------------------------------
    def watermelon_versioned(self, mutation: UpsertInvoice) -> list[tuple[str, str | None]]:
        invoice = mutation.invoice
        return [("customer", invoice.customer_id), *(("product", line.product_id) for line in invoice.lines)]

    edits_have_bases = True

    def with_base(self, mutation: UpsertInvoice, earlier: bytes, named: list[Any] | None) -> UpsertInvoice:
        old = msgspec.json.decode(earlier, type=Invoice)
        return msgspec.structs.replace(mutation, base=drafts.invoice_draft(old), changed=named)

    def same_as_server(self, mutation: UpsertInvoice, payload: bytes) -> bool:
        invoice = msgspec.json.decode(payload, type=Invoice)
        return same(mutation.invoice, draft_of_rows(row(invoice), line_rows(invoice, {})))

    async def watermelon_changes(self, push: WatermelonPush) -> list[Unit]:
        """An invoice's header row and line rows make one mutation: the lines the app sent over
        those the server has (by the app's line ids), less the lines it deleted, in order."""
        headers = {raw["id"]: raw for raw in push.table("invoices").created + push.table("invoices").updated}
        voided = set(push.table("invoices").deleted)
        pushed_lines = push.table("invoice_lines").created + push.table("invoice_lines").updated
        deleted_lines = push.table("invoice_lines").deleted
        known = await push.line_invoices([raw["id"] for raw in pushed_lines] + deleted_lines)
        units: list[Unit] = []
        lines_of: dict[str, list[RawRecord]] = {}
        removed_of: dict[str, list[str]] = {}
        for raw in pushed_lines:
            invoice_id = (
                raw.get("invoice_id") if isinstance(raw.get("invoice_id"), str) else known.get(raw["id"])
            )
            if not invoice_id:
                units.append(
                    Unit(
                        "invoice_lines",
                        raw["id"],
                        [("invoice_lines", raw["id"])],
                        rejection=Rejection(
                            table="invoice_lines",
                            id=raw["id"],
                            code=ErrorCode.INVALID_INPUT,
                            message="a line needs the invoice_id of its invoice",
                            field="invoice_id",
                        ),
                    )
                )
                continue
            lines_of.setdefault(invoice_id, []).append(raw)
        for deleted in deleted_lines:
            # A line an app pushed, or one the server named (``line_id``: a line of an invoice made
            # elsewhere); deleting a line the server never had is nothing to do.
            invoice_id = known.get(deleted)
            named = _named_line_invoice(deleted) if invoice_id is None else None
            if named is not None and await push.record(Invoice, "invoice", named) is not None:
                invoice_id = named
            if invoice_id is not None:
                removed_of.setdefault(invoice_id, []).append(deleted)
        positions = await push.line_positions(list({**headers, **lines_of, **removed_of}))
        for invoice_id in dict.fromkeys([*headers, *lines_of, *removed_of]):
            if invoice_id in voided:
                continue  # deleted as a whole (``invoice_void``)
            rows = [("invoices", invoice_id)] if invoice_id in headers else []
            rows += [("invoice_lines", raw["id"]) for raw in lines_of.get(invoice_id, [])]
            rows += [("invoice_lines", line_id) for line_id in removed_of.get(invoice_id, [])]
            unit = Unit("invoices", invoice_id, rows, removed_lines=removed_of.get(invoice_id, []))
            units.append(unit)
            server = await push.record(Invoice, "invoice", invoice_id)
            header = headers.get(invoice_id) or (row(server) if server else None)
            if header is None:
                unit.rejection = Rejection(
                    table="invoice_lines",
                    id=rows[0][1],
                    code=ErrorCode.UNKNOWN_INVOICE,
                    message=f"no invoice {invoice_id} for these lines",
                    field="invoice_id",
                )
                continue
            current = {
                raw["id"]: raw
                for raw in (
                    line_rows(server, ids_by_position(positions.get(invoice_id, []))) if server else []
                )
            }
            for line_id in removed_of.get(invoice_id, []):
                current.pop(line_id, None)
            current.update({raw["id"]: raw for raw in lines_of.get(invoice_id, [])})
            ordered = sorted(current.values(), key=_line_order)
            unit.line_ids = [raw["id"] for raw in ordered]
            unit.named = changed_fields(
                headers.get(invoice_id), bool(lines_of.get(invoice_id) or removed_of.get(invoice_id))
            )
            try:
                unit.mutation = UpsertInvoice(mutation_id="", invoice=draft_of_rows(header, ordered))
            except Unusable as exc:
                unit.rejection = Rejection(
                    table="invoices",
                    id=invoice_id,
                    code=ErrorCode.INVALID_INPUT,
                    message=exc.message,
                    field=exc.field,
                )
        return units

    async def watermelon_deletions(self, push: WatermelonPush) -> list[Unit]:
        return []  # a deleted invoice is a void (``invoice_void``)


KIND = InvoiceKind()


def invoice_fate(invoice: wire.Invoice) -> InXero:
    """An invoice in Xero: its id, number and Xero's amounts."""
    return InXero(invoice.invoice_id, invoice.invoice_number, mapping.invoice_facts_of(invoice))


# --- Xero elements --------------------------------------------------------------------------------
def backlink(base_url: str, invoice_id: str) -> str:
    """The ``Url`` of an invoice in Xero: its page in ledgersync's admin console."""
    return f"{base_url.rstrip('/')}/admin/invoices/{invoice_id}"


def record_id_of_backlink(url: str) -> str | None:
    marker = "/admin/invoices/"
    return url.rsplit(marker, 1)[1] if marker in url else None


@dataclass(frozen=True)
class InvoiceContext:
    """What an invoice element needs besides the draft."""

    contact_xero_id: str
    products: dict[str, Product]
    # (TrackingCategoryID, TrackingOptionID) of each tracking option the lines name.
    tracking: dict[str, tuple[str, str]]
    branding_theme_xero_id: str | None
    revenue_account_code: str | None
    default_tax_type: str | None
    status: str  # DRAFT | AUTHORISED, for new invoices
    url: str
    due_date: date | None = None  # when the draft has none: from payment terms (server.core.invoices)


# ledgersync's own reason an invoice cannot go (the console labels it so: server/forwarding/voices.py).
NO_REVENUE_ACCOUNT = (
    "this line has no account and the organisation has no revenue account for invoice lines: an admin "
    "must choose one, then retry"
)


class MissingAccount(Exception):
    """A line has no account of its own, its product has none, and no revenue account is set."""

    def __init__(self, line: int) -> None:
        super().__init__(NO_REVENUE_ACCOUNT)
        self.line = line


def invoice_element(draft: InvoiceDraft, context: InvoiceContext, xero_id: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"ContactID": context.contact_xero_id},
        "Date": draft.date.isoformat(),
        # Xero wants a due date on approved invoices and applies no payment terms itself: the
        # phone's, else the terms' (``InvoiceContext.due_date``), else the invoice date.
        "DueDate": (draft.due_date or context.due_date or draft.date).isoformat(),
        "LineAmountTypes": draft.line_amount_type,
        "Reference": draft.reference,
        "Url": context.url,
        "LineItems": [_line(draft, n, context) for n in range(len(draft.lines))],
    }
    if context.branding_theme_xero_id is not None:
        element["BrandingThemeID"] = context.branding_theme_xero_id  # else Xero's default theme
    if xero_id:
        element["InvoiceID"] = xero_id  # an edit: the status stays as it is in Xero
    else:
        element["Status"] = context.status
    return element


def _line(draft: InvoiceDraft, index: int, context: InvoiceContext) -> dict[str, Any]:
    line = draft.lines[index]
    product = context.products.get(line.product_id) if line.product_id else None
    account = line.account_code or (product.account_code if product else None) or context.revenue_account_code
    if account is None:
        raise MissingAccount(index)
    element: dict[str, Any] = {
        "Description": line.description or (product.name if product else "") or FALLBACK_DESCRIPTION,
        "Quantity": to_decimal(line.quantity),
        "UnitAmount": to_decimal(line.unit_amount),
        "AccountCode": account,
    }
    if product is not None:
        element["ItemCode"] = product.code
    tax_type = line.tax_type or (product.tax_type if product else None) or context.default_tax_type
    if draft.line_amount_type != "NoTax" and tax_type:
        element["TaxType"] = tax_type
    if line.discount_rate is not None:
        element["DiscountRate"] = to_decimal(line.discount_rate)
    # The phone's own tax (Xero's per-line rounding, checked at push): Xero keeps a given TaxAmount,
    # so its totals are the phone's whatever its own tie-breaking would have given.
    element["TaxAmount"] = to_decimal(line.tax_amount)
    if line.tracking:
        element["Tracking"] = [
            {"TrackingCategoryID": category, "TrackingOptionID": option}
            for category, option in (context.tracking[option_id] for option_id in line.tracking)
        ]
    return element


# --- WatermelonDB rows ----------------------------------------------------------------------------
def line_id(invoice_id: str, position: int) -> str:
    """The id of a line whose app-chosen id ledgersync does not know (an invoice from elsewhere)."""
    return f"{invoice_id}-l{position}"


_NAMED_LINE = re.compile(r"^(?P<invoice>.+)-l(?P<position>\d+)$")


def _named_line_invoice(line: str) -> str | None:
    """The invoice of a line id the server made up (``line_id``), else None."""
    named = _NAMED_LINE.match(line)
    return named.group("invoice") if named else None


def row(record: Invoice) -> RawRecord:
    """The ``invoices`` row (without its lines: see ``line_rows``)."""
    return {
        "id": record.id,
        "xero_id": record.xero_id,
        "customer_id": record.customer_id,
        "invoice_number": record.invoice_number,
        "reference": record.reference,
        "date": record.date.isoformat(),
        "due_date": record.due_date.isoformat() if record.due_date else None,
        "currency": record.currency,
        "line_amount_type": record.line_amount_type,
        "sub_total": str(record.sub_total),
        "total_tax": str(record.total_tax),
        "total": str(record.total),
        "amount_paid": str(record.amount_paid),
        "amount_due": str(record.amount_due),
        "status": record.status,
        "branding_theme_id": record.branding_theme_id,
        "online_invoice_url": record.online_invoice_url,
        "emailed": record.emailed,
        **sync_columns(record.sync),
    }


def ids_by_position(known: Iterable[tuple[str, int | None]]) -> dict[int, str]:
    """The app's line ids by position, from (line id, position) pairs (None: no longer on it)."""
    return {position: line_id for line_id, position in known if position is not None}


def _line_order(raw: RawRecord) -> tuple[float, str]:
    position = raw.get("position")
    return (position if isinstance(position, int | float) else 0, raw["id"])


def line_rows(invoice: Invoice, ids: dict[int, str]) -> list[RawRecord]:
    """The invoice's lines as ``invoice_lines`` rows; ``ids`` maps position to the app's line id."""
    return [
        {
            "id": ids.get(position) or line_id(invoice.id, position),
            "invoice_id": invoice.id,
            "position": position,
            "description": line.description,
            "product_id": line.product_id,
            "quantity": str(line.quantity),
            "unit_amount": str(line.unit_amount),
            "discount_rate": decimal_text(line.discount_rate),
            "account_code": line.account_code,
            "tax_type": line.tax_type,
            "line_amount": str(line.line_amount),
            "tax_amount": str(line.tax_amount),
            "tracking_option_1_id": line.tracking[0] if line.tracking else None,
            "tracking_option_2_id": line.tracking[1] if len(line.tracking) > 1 else None,
        }
        for position, line in enumerate(invoice.lines)
    ]


def draft_of_rows(header: RawRecord, lines: list[RawRecord]) -> InvoiceDraft:
    """The invoice a header row and its line rows (in order) make."""
    draft: InvoiceDraft = convert(
        {
            "id": header.get("id"),
            "customer_id": header.get("customer_id"),
            "reference": text(header, "reference"),
            "date": header.get("date"),
            "due_date": optional(header, "due_date"),
            "line_amount_type": optional(header, "line_amount_type") or "Exclusive",
            "lines": [
                {
                    "description": text(line, "description"),
                    "product_id": optional(line, "product_id"),
                    "quantity": line.get("quantity"),
                    "unit_amount": line.get("unit_amount"),
                    "discount_rate": optional(line, "discount_rate"),
                    "account_code": optional(line, "account_code"),
                    "tax_type": optional(line, "tax_type"),
                    "line_amount": line.get("line_amount"),
                    "tax_amount": line.get("tax_amount"),
                    "tracking": _line_tracking(line),
                }
                for line in lines
            ],
            "sub_total": header.get("sub_total"),
            "total_tax": header.get("total_tax"),
            "total": header.get("total"),
            "branding_theme_id": optional(header, "branding_theme_id"),
        },
        InvoiceDraft,
        "invoice",
    )
    return draft


def _line_tracking(line: RawRecord) -> list[Any]:
    """A line row's two tracking columns as the draft's ``tracking`` (empty ones left out)."""
    return [
        value
        for value in (optional(line, "tracking_option_1_id"), optional(line, "tracking_option_2_id"))
        if value is not None
    ]


# An invoice row's columns as the invoice fields an edit changes (its amounts are its lines').
_COLUMN_FIELD: dict[str, InvoiceField] = {
    "customer_id": "customer_id",
    "reference": "reference",
    "date": "date",
    "due_date": "due_date",
    "line_amount_type": "lines",
    "sub_total": "lines",
    "total_tax": "lines",
    "total": "lines",
    "branding_theme_id": "branding_theme_id",
}


def changed_fields(header: RawRecord | None, lines_changed: bool) -> list[InvoiceField] | None:
    """The invoice fields an app changed: its row's ``_changed`` columns, and ``lines`` when it pushed
    line rows; None when its pushed row does not say (a created row, no ``_changed``)."""
    fields: set[InvoiceField] = {"lines"} if lines_changed else set()
    if header is not None:
        changed = header.get("_changed")
        if not isinstance(changed, str) or not changed:
            return None
        columns = {column.strip() for column in changed.split(",")}
        fields |= {field for column, field in _COLUMN_FIELD.items() if column in columns}
    return [field for field in INVOICE_FIELDS if field in fields] or None
