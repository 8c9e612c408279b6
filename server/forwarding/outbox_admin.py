"""The outbox as admins see it: uploads with their state and Xero's messages; retrying failed ones."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec
from sqlalchemy import func, select

from server.core import feed, outbox
from server.core.errors import Conflict, NotFound
from server.core.fate import current_record, restamp_uploads
from server.core.records import lock_organisation
from server.core.states import RETRYABLE_STATES, UploadState
from server.db.database import Database
from server.db.sync_models import Upload
from server.db.types import utcnow
from sync_protocol.entities import RecordSync, encode_entity
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import MutationResult

# What the admin's filter names, in the outbox's states.
StateFilter = Literal["failed", "waiting", "due", "in_flight", "retrying", "done", "held", "rejected"]
_FILTERS: dict[str, tuple[UploadState, ...]] = {
    "failed": (UploadState.FAILED,),
    "waiting": (UploadState.WAITING,),
    "due": (UploadState.ACCEPTED,),
    "in_flight": (UploadState.FORWARDING,),
    "retrying": (UploadState.RETRYING,),
    "done": (UploadState.IN_XERO,),
    "held": (UploadState.HELD,),
    "rejected": (UploadState.REJECTED,),
}


class UploadView(msgspec.Struct, kw_only=True):
    id: int
    mutation_id: str
    kind: str
    entity: str
    record_id: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    error_field: str
    xero_id: str | None
    xero_number: str
    device_id: str | None
    created_at: datetime
    updated_at: datetime

    # A rejection's code (``sync_protocol.errors.ErrorCode``); empty for every other state.
    error_code: str = ""

    @classmethod
    def of(cls, row: Upload) -> UploadView:
        last_error, error_field, error_code = row.last_error, row.error_field, ""
        if row.state == UploadState.REJECTED:
            # A rejection at the door is answered to the phone (the stored result) and has no forwarding
            # error of its own: its reason is the answer's code and message.
            answer = msgspec.json.decode(row.result, type=MutationResult)
            error_code = answer.code or ""
            last_error = last_error or answer.message or error_code
            error_field = error_field or answer.field or ""
        return cls(
            id=row.id,
            mutation_id=row.mutation_id,
            kind=row.kind,
            entity=row.entity,
            record_id=row.record_id,
            state=row.state,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=last_error,
            error_field=error_field,
            error_code=error_code,
            xero_id=row.xero_id,
            xero_number=row.xero_number,
            device_id=str(row.device_id) if row.device_id else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class OutboxAdmin:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def page(
        self, organisation_id: uuid.UUID, state: StateFilter | None, limit: int, offset: int
    ) -> tuple[list[UploadView], int, dict[str, int]]:
        """Uploads newest first, the total matching, and how many there are in each state."""
        scope = [Upload.organisation_id == organisation_id]
        if state is not None:
            scope.append(Upload.state.in_(_FILTERS[state]))
        async with self._db.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Upload).where(*scope))
            rows = await session.scalars(
                select(Upload).where(*scope).order_by(Upload.id.desc()).limit(limit).offset(offset)
            )
            views = [UploadView.of(row) for row in rows]
        return views, int(total or 0), await self.counts(organisation_id)

    async def counts(self, organisation_id: uuid.UUID) -> dict[str, int]:
        """How many uploads there are in each of the admin's filters."""
        async with self._db.sessions() as session:
            counts = await session.execute(
                select(Upload.state, func.count())
                .where(Upload.organisation_id == organisation_id)
                .group_by(Upload.state)
            )
            by_state = {name: 0 for name in _FILTERS}
            for row_state, count in counts:
                for name, states in _FILTERS.items():
                    if row_state in states:
                        by_state[name] += count
        return by_state

    async def get(self, organisation_id: uuid.UUID, upload_id: int) -> UploadView:
        async with self._db.sessions() as session:
            row = await session.get(Upload, upload_id)
            if row is None or row.organisation_id != organisation_id:
                raise NotFound("no such upload in this organisation", code=ErrorCode.UPLOAD_NOT_FOUND)
            return UploadView.of(row)

    async def latest_for_record(self, organisation_id: uuid.UUID, record_id: str) -> UploadView:
        """The newest upload of a record (what Xero's backlink of an invoice leads to)."""
        async with self._db.sessions() as session:
            row = await session.scalar(
                select(Upload)
                .where(Upload.organisation_id == organisation_id, Upload.record_id == record_id)
                .order_by(Upload.id.desc())
                .limit(1)
            )
            if row is None:
                raise NotFound(
                    "no upload of this record in this organisation", code=ErrorCode.UPLOAD_NOT_FOUND
                )
            return UploadView.of(row)

    async def retry(self, organisation_id: uuid.UUID, upload_id: int) -> UploadView:
        """Send a failed (or held) upload again, as a deliberate new attempt."""
        async with self._db.transaction() as session:
            await lock_organisation(session, organisation_id)  # before the upload row, as pushes do
            row = await session.get(Upload, upload_id)
            if row is None or row.organisation_id != organisation_id:
                raise NotFound("no such upload in this organisation", code=ErrorCode.UPLOAD_NOT_FOUND)
            if row.state not in RETRYABLE_STATES:
                raise Conflict(
                    f"only failed, held or retrying uploads can be retried; this one is {row.state}",
                    code=ErrorCode.UPLOAD_NOT_RETRYABLE,
                )
            waits = (await outbox.unresolved_dependencies(session, [row.id])).get(row.id, [])
            row.state = (
                UploadState.WAITING if waits else UploadState.ACCEPTED
            )  # blocked: behind what it needs
            row.generation += 1  # a new Idempotency-Key: Xero must not answer from its memory
            row.next_attempt_at = None
            row.last_error = outbox.waiting_message(waits) if waits else ""
            row.error_field = ""
            row.updated_at = utcnow()
            # What was blocked behind this upload waits for it again.
            await restamp_uploads(
                session, organisation_id, await outbox.unblock_dependants(session, [row.id])
            )
            record = await current_record(session, organisation_id, row.entity, row.record_id)
            latest = await outbox.latest_upload(session, organisation_id, row.record_id)
            if record is not None and latest is not None and latest.id == row.id:
                sync = RecordSync(
                    state=UploadState(row.state).on_wire, mutation_id=row.mutation_id, message=row.last_error
                )
                stamped = msgspec.structs.replace(record, sync=sync)
                await feed.publish(
                    session, organisation_id, [feed.Change(row.entity, row.record_id, encode_entity(stamped))]
                )
            return UploadView.of(row)

    async def retryable_ids(self, organisation_id: uuid.UUID, state: StateFilter | None) -> list[int]:
        """The uploads *Retry all* would send again: the retryable ones within the admin's filter."""
        states = [s for s in (_FILTERS[state] if state else RETRYABLE_STATES) if s in RETRYABLE_STATES]
        if not states:
            return []
        async with self._db.sessions() as session:
            rows = await session.scalars(
                select(Upload.id)
                .where(Upload.organisation_id == organisation_id, Upload.state.in_(states))
                .order_by(Upload.id)
            )
            return list(rows)

    async def retry_all(self, organisation_id: uuid.UUID, state: StateFilter | None) -> int:
        """Retry every retryable upload in the filter, oldest first (so what others wait on goes first);
        one moved on meanwhile (sent, or retried by someone else) is skipped. How many were retried."""
        retried = 0
        for upload_id in await self.retryable_ids(organisation_id, state):
            try:
                await self.retry(organisation_id, upload_id)
            except (Conflict, NotFound):
                continue
            retried += 1
        return retried
