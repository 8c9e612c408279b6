"""Edits are changes, not snapshots: which fields a phone changed, and merging them with Xero's.

At push time an edit of a customer is stored with its *base* (the customer as the phone had it
when the user edited it) and the fields it *changed* (``edit_request``). When the edit is
forwarded, and when the mirror meets the record while the edit is on its way, the phone's changes
are merged with Xero's current record field by field (``merge``):

- a field only the phone changed takes the phone's value (an empty value clears it in Xero);
- a field only Xero changed keeps Xero's value;
- a field both changed (Xero's value is neither the base nor the phone's) is a **conflict**,
  resolved by the organisation's ``conflict_policy``: ``xero`` (the default) keeps Xero's value,
  ``phone`` takes the phone's. Each conflict the forwarder resolves is recorded
  (``edit_conflicts``), and an admin can apply the phone's value afterwards.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.states import OPEN_STATES
from server.db.chunks import chunks
from server.db.forwarding_models import EditConflict, ForwardingSettings
from server.db.sync_models import Upload
from server.db.types import utcnow
from sync_protocol.drafts import customer_base, invoice_draft
from sync_protocol.entities import Address, Customer, Invoice
from sync_protocol.messages import (
    CUSTOMER_FIELDS,
    INVOICE_FIELDS,
    AddressDraft,
    CustomerBase,
    CustomerDraft,
    InvoiceDraft,
    UpsertCustomer,
    UpsertInvoice,
)

Policy = Literal["xero", "phone"]
POLICIES: tuple[Policy, ...] = ("xero", "phone")
Values = dict[str, Any]  # field -> comparable JSON value (an address: a dict, or None when empty)

_ADDRESS_PARTS = ("line1", "line2", "city", "region", "postal_code", "country")
_mutation_decoder = msgspec.json.Decoder(UpsertCustomer)


def _address(address: Address | AddressDraft | None) -> dict[str, str] | None:
    if address is None:
        return None
    parts = {part: getattr(address, part) for part in _ADDRESS_PARTS}
    return parts if any(parts.values()) else None


def customer_values(customer: Customer | CustomerDraft | CustomerBase) -> Values:
    """The mergeable fields of a customer (or a draft of one)."""
    return {
        "name": customer.name,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "account_number": customer.account_number,
        "tax_number": customer.tax_number,
        "address": _address(customer.address),
    }


def with_values(customer: Customer, values: Values) -> Customer:
    """``customer`` with ``values`` (some of the mergeable fields) in place of its own."""
    changes = {field: value for field, value in values.items() if field != "address"}
    if "address" in values:
        changes["address"] = Address(**values["address"]) if values["address"] else None
    return msgspec.structs.replace(customer, **changes)


def changed_fields(draft: Values, base: Values, named: Sequence[str] | None) -> list[str]:
    """The fields the phone changed: those differing from its base (among ``named``, if given)."""
    return [
        field
        for field in CUSTOMER_FIELDS
        if draft[field] != base[field] and (named is None or field in named)
    ]


@dataclass(frozen=True)
class Edit:
    """What a stored edit changed: the fields, their values before (base) and after (phone)."""

    changed: list[str]
    base: Values
    phone: Values


def edit_request(mutation: UpsertCustomer, previous: Customer) -> UpsertCustomer:
    """The edit as stored: with its base (the phone's, else the server's record) and changed fields."""
    base = mutation.base if mutation.base is not None else customer_base(previous)
    changed = changed_fields(customer_values(mutation.customer), customer_values(base), mutation.changed)
    return msgspec.structs.replace(mutation, base=base, changed=changed)


def widened(request: UpsertCustomer, earlier: UpsertCustomer | None) -> UpsertCustomer:
    """An edit replacing ``earlier`` (refused by Xero): it carries the earlier one's changes too,
    from the earlier base, so what that upload changed is still sent."""
    if earlier is None or earlier.base is None or earlier.changed is None or request.base is None:
        return request
    fields = set(request.changed or []) | set(earlier.changed)
    base = customer_values(request.base)
    earlier_base = customer_values(earlier.base)
    for field in earlier.changed:
        if field not in (request.changed or []):
            base[field] = earlier_base[field]
    merged_base = with_values(_as_customer(request.base), base)
    changed = [f for f in CUSTOMER_FIELDS if f in fields]
    return msgspec.structs.replace(request, base=customer_base(merged_base), changed=changed)


def _as_customer(draft: CustomerBase) -> Customer:
    return Customer(id=draft.id, name=draft.name)


def overlay(record: Customer, draft: CustomerDraft, changed: Sequence[str]) -> Customer:
    """The server's record with the phone's changed fields applied."""
    phone = customer_values(draft)
    return with_values(record, {field: phone[field] for field in changed})


def edit_of(mutation: UpsertCustomer, xero: Values) -> Edit:
    """The edit a stored mutation makes. An upload stored before edits carried their base has
    none: its non-empty fields that differ from Xero are taken as the phone's (as sent then)."""
    phone = customer_values(mutation.customer)
    if mutation.base is None or mutation.changed is None:
        changed: list[str] = [
            f for f in CUSTOMER_FIELDS if phone[f] not in ("", None) and phone[f] != xero[f]
        ]
        return Edit(changed, dict(xero), phone)
    return Edit(list(mutation.changed), customer_values(mutation.base), phone)


@dataclass(frozen=True)
class FieldConflict:
    field: str
    phone: Any
    xero: Any
    resolution: Policy


@dataclass(frozen=True)
class Merged:
    send: Values  # the fields to write to Xero
    values: Values  # the record's fields after the write
    conflicts: list[FieldConflict]


def merge(xero: Values, edit: Edit, policy: Policy) -> Merged:
    send: Values = {}
    values = dict(xero)
    conflicts: list[FieldConflict] = []
    for field in edit.changed:
        phone, theirs, base = edit.phone[field], xero[field], edit.base[field]
        if theirs == phone:
            continue
        if theirs == base or policy == "phone":
            send[field] = values[field] = phone
        if theirs != base:
            conflicts.append(FieldConflict(field, phone, theirs, policy))
    return Merged(send, values, conflicts)


def note_of(conflicts: Sequence[FieldConflict]) -> str:
    """What the phone's record says after a merge with conflicts (its ``sync.message``)."""
    if not conflicts:
        return ""
    parts = [
        f"{c.field}: {'Xero' if c.resolution == 'xero' else 'this phone'}'s value kept" for c in conflicts
    ]
    return "edited in Xero at the same time; " + "; ".join(parts)


# --- storage ----------------------------------------------------------------------------------


async def policy_of(session: AsyncSession, organisation_id: uuid.UUID) -> Policy:
    row = await session.get(ForwardingSettings, organisation_id)
    return "phone" if row is not None and row.conflict_policy == "phone" else "xero"


def record_conflicts(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    upload_id: int | None,
    record_id: str,
    conflicts: Sequence[FieldConflict],
    entity: str = "customer",
) -> None:
    now = utcnow()
    for conflict in conflicts:
        session.add(
            EditConflict(
                organisation_id=organisation_id,
                entity=entity,
                record_id=record_id,
                upload_id=upload_id,
                field=conflict.field,
                phone_value=msgspec.json.encode(conflict.phone).decode(),
                xero_value=msgspec.json.encode(conflict.xero).decode(),
                resolution=conflict.resolution,
                created_at=now,
            )
        )


# Upload states in which an edit is still on its way to Xero (or refused, awaiting a correction).
_IN_FLIGHT = OPEN_STATES


async def pending_edits(
    session: AsyncSession, organisation_id: uuid.UUID, record_ids: Sequence[str]
) -> dict[str, list[UpsertCustomer]]:
    """The customer edits among ``record_ids`` not in Xero yet, oldest first."""
    found: dict[str, list[UpsertCustomer]] = {}
    for chunk in chunks(record_ids):
        rows = await session.execute(
            select(Upload.record_id, Upload.request)
            .where(
                Upload.organisation_id == organisation_id,
                Upload.entity == "customer",
                Upload.kind == "upsert_customer",
                Upload.record_id.in_(chunk),
                Upload.state.in_(_IN_FLIGHT),
            )
            .order_by(Upload.id)
        )
        for record_id, request in rows:
            mutation = _mutation_decoder.decode(request)
            if mutation.base is not None and mutation.changed is not None:
                found.setdefault(record_id, []).append(mutation)
    return found


def with_pending(xero: Customer, edits: Sequence[UpsertCustomer], policy: Policy) -> Customer:
    """Xero's version of a customer with the phone's edits still on their way merged in."""
    values = customer_values(xero)
    for mutation in edits:
        values = merge(values, edit_of(mutation, values), policy).values
    return with_values(xero, values)


# --- invoices (top-level fields) ---------------------------------------------------------------
#
# An invoice edit merges field by field for ``reference``, ``date`` and ``due_date``. ``lines``
# (the lines, their amount type and totals) and ``customer_id`` are sent when the phone changed them
# and left as Xero has them otherwise; Xero's side of them is not compared (ledgersync does not
# read Xero's lines back), so a line edit made in Xero meanwhile is replaced by the phone's. The
# branding theme goes the same way (a line's tracking is part of ``lines``).

_INVOICE_SCALARS = ("reference", "date", "due_date")


def invoice_values(draft: InvoiceDraft) -> Values:
    """The mergeable fields of an invoice draft (dates as ISO text; a due date left out is the
    invoice date, as ledgersync sends it to Xero)."""
    return {
        "customer_id": draft.customer_id,
        "reference": draft.reference,
        "date": draft.date.isoformat(),
        "due_date": (draft.due_date or draft.date).isoformat(),
        "lines": [
            draft.line_amount_type,
            [
                [
                    line.description,
                    line.product_id,
                    Decimal(line.quantity),
                    Decimal(line.unit_amount),
                    Decimal(line.discount_rate) if line.discount_rate is not None else None,
                    line.account_code,
                    line.tax_type,
                    list(line.tracking),
                ]
                for line in draft.lines
            ],
        ],
        "branding_theme_id": draft.branding_theme_id,
    }


def invoice_edit_request(mutation: UpsertInvoice, previous: Invoice) -> UpsertInvoice:
    base = mutation.base if mutation.base is not None else invoice_draft(previous)
    draft, before = invoice_values(mutation.invoice), invoice_values(base)
    named = mutation.changed
    changed = [f for f in INVOICE_FIELDS if draft[f] != before[f] and (named is None or f in named)]
    return msgspec.structs.replace(mutation, base=base, changed=changed)


class InvoiceAsXeroHasIt(Protocol):
    """What the merge compares of Xero's invoice (the Xero client's ``Invoice`` has these)."""

    @property
    def reference(self) -> str | None: ...
    @property
    def date(self) -> dt.datetime | None: ...
    @property
    def due_date(self) -> dt.datetime | None: ...


def xero_invoice_values(invoice: InvoiceAsXeroHasIt, edit: Edit) -> Values:
    """Xero's side of an invoice edit: its reference and dates; for the fields not compared
    (lines, customer), the base - so a phone's change of them is sent."""
    values = dict(edit.base)
    values["reference"] = invoice.reference
    if invoice.date is not None:
        values["date"] = invoice.date.date().isoformat()
    if invoice.due_date is not None:
        values["due_date"] = invoice.due_date.date().isoformat()
    return values


def invoice_edit_of(mutation: UpsertInvoice) -> Edit | None:
    """The edit a stored invoice mutation makes; None for one stored without a base (sent whole)."""
    if mutation.base is None or mutation.changed is None:
        return None
    return Edit(list(mutation.changed), invoice_values(mutation.base), invoice_values(mutation.invoice))


# The Xero element keys each invoice field is sent in.
INVOICE_KEYS = {
    "customer_id": ("Contact",),
    "reference": ("Reference",),
    "date": ("Date",),
    "due_date": ("DueDate",),
    "lines": ("LineItems", "LineAmountTypes"),
    "branding_theme_id": ("BrandingThemeID",),
}


def invoice_record_fields(values: Values) -> dict[str, Any]:
    """The record's reference and dates after a merge (what phones get back)."""
    return {
        "reference": values["reference"],
        "date": dt.date.fromisoformat(values["date"]),
        "due_date": dt.date.fromisoformat(values["due_date"]),
    }


def invoice_widened(request: UpsertInvoice, earlier: UpsertInvoice) -> UpsertInvoice:
    """An invoice edit replacing ``earlier`` (refused by Xero) also carries what that one changed,
    from its base."""
    if earlier.base is None or request.changed is None:
        return request
    draft, before = invoice_values(request.invoice), invoice_values(earlier.base)
    changed = [f for f in INVOICE_FIELDS if draft[f] != before[f] or f in request.changed]
    return msgspec.structs.replace(request, base=earlier.base, changed=changed)
