"""Edit conflicts for admins: every field a phone and Xero both changed, and applying the phone's.

A conflict is recorded when the forwarder merges a phone's edit with Xero's record and finds a
field both changed (``server/core/merge.py``). Applying the phone's value queues an edit of that one
field, as if from a phone (no device): the forwarder sends it to Xero like any upload, and phones
get the result on their next pull.
"""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, select

from server.core import feed, merge
from server.core.errors import Conflict, NotFound
from server.core.principals import DevicePrincipal
from server.core.push import PushService
from server.db.database import Database
from server.db.forwarding_models import EditConflict
from server.db.types import utcnow
from sync_protocol.drafts import customer_base, customer_draft, invoice_draft
from sync_protocol.entities import Customer, Invoice
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import AnyMutation, PushRequest, UpsertCustomer, UpsertInvoice


class ConflictView(msgspec.Struct, kw_only=True):
    """``resolution``: ``xero`` (Xero's value kept) or ``phone`` (the phone's sent).
    ``applied_at``: when an admin applied the phone's value; ``applied_mutation_id``: that upload."""

    id: int
    entity: str
    record_id: str
    field: str
    phone_value: Any
    xero_value: Any
    resolution: str
    upload_id: int | None
    created_at: datetime
    applied_at: datetime | None
    applied_by: str
    applied_mutation_id: str

    @classmethod
    def of(cls, row: EditConflict) -> ConflictView:
        return cls(
            id=row.id,
            entity=row.entity,
            record_id=row.record_id,
            field=row.field,
            phone_value=msgspec.json.decode(row.phone_value),
            xero_value=msgspec.json.decode(row.xero_value),
            resolution=row.resolution,
            upload_id=row.upload_id,
            created_at=row.created_at,
            applied_at=row.applied_at,
            applied_by=row.applied_by,
            applied_mutation_id=mutation_id_of(row) if row.applied_at else "",
        )


class ConflictsPage(msgspec.Struct, kw_only=True):
    conflicts: list[ConflictView]
    total: int
    limit: int
    offset: int


def mutation_id_of(row: EditConflict) -> str:
    return f"conflict-{row.id}-phone"


class ConflictsService:
    def __init__(self, database: Database, pushes: PushService) -> None:
        self._db = database
        self._pushes = pushes

    async def page(self, organisation_id: uuid.UUID, limit: int = 50, offset: int = 0) -> ConflictsPage:
        async with self._db.sessions() as session:
            rows = await session.scalars(
                select(EditConflict)
                .where(EditConflict.organisation_id == organisation_id)
                .order_by(EditConflict.id.desc())
                .limit(limit)
                .offset(offset)
            )
            total = await session.scalar(
                select(func.count())
                .select_from(EditConflict)
                .where(EditConflict.organisation_id == organisation_id)
            )
            return ConflictsPage(
                conflicts=[ConflictView.of(row) for row in rows], total=total or 0, limit=limit, offset=offset
            )

    async def apply_phone(self, organisation_id: uuid.UUID, conflict_id: int, actor: str) -> ConflictView:
        """Queue the phone's value of the conflict's field for Xero. Applying twice is refused."""
        async with self._db.sessions() as session:
            row = await session.get(EditConflict, conflict_id)
            if row is None or row.organisation_id != organisation_id:
                raise NotFound(f"no conflict {conflict_id}", code=ErrorCode.NOT_FOUND)
            if row.applied_at is not None:
                raise Conflict("the phone's value was applied already", details={"conflict_id": conflict_id})
            if row.resolution == "phone":
                raise Conflict(
                    "the phone's value was sent to Xero already", details={"conflict_id": conflict_id}
                )
            key = (row.entity, row.record_id)
            payload = (await feed.current_payloads(session, organisation_id, [key])).get(key)
            phone_value = msgspec.json.decode(row.phone_value)
            mutation_id = mutation_id_of(row)
        if payload is None:
            raise NotFound(f"the {row.entity} {row.record_id} is gone", code=ErrorCode.NOT_FOUND)
        mutation = _phone_edit(row.entity, payload, row.field, phone_value, mutation_id)
        # An admin's action, from no device: the upload's device is empty.
        principal = DevicePrincipal(device_id=None, organisation_id=organisation_id, staff_name=actor)  # type: ignore[arg-type]
        [result] = (await self._pushes.push(principal, PushRequest(mutations=[mutation]))).results
        if result.status != "applied":
            raise Conflict(f"the edit was refused: {result.message}", details={"code": result.code})
        async with self._db.transaction() as session:
            row = await session.get(EditConflict, conflict_id)
            assert row is not None
            row.applied_at = utcnow()
            row.applied_by = actor
            return ConflictView.of(row)


def _phone_edit(entity: str, payload: bytes, field: str, value: Any, mutation_id: str) -> AnyMutation:
    """An edit of one field of the record as it is now, to the phone's value."""
    if entity == "invoice":
        invoice = msgspec.json.decode(payload, type=Invoice)
        base = invoice_draft(invoice)
        changed: Any = {field: dt.date.fromisoformat(value) if field in ("date", "due_date") else value}
        draft = msgspec.structs.replace(base, **changed)
        return UpsertInvoice(mutation_id=mutation_id, invoice=draft, base=base, changed=[field])  # type: ignore[list-item]
    current = msgspec.json.decode(payload, type=Customer)
    base_customer = customer_base(current)
    edited = customer_draft(merge.with_values(current, {field: value}))
    return UpsertCustomer(mutation_id=mutation_id, customer=edited, base=base_customer, changed=[field])  # type: ignore[list-item]
