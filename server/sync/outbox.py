"""The ``uploads`` table as the forwarder's queue: rows, dependencies, what can go next.

Every pushed mutation becomes one row. Accepted rows are forwarded in ``id`` order; a row may go
only when every upload it depends on is ``in_xero`` (a payment after its invoice, an invoice
after its new customer, an edit after the record's create). States:

    rejected                      refused at the door; never forwarded
    waiting ──▶ accepted ──▶ forwarding ──▶ in_xero
                               │   ▲
                               ▼   │ (retry)
                             failed
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.sync_models import Upload, UploadDependency
from sync_protocol.messages import AnyMutation

REJECTED, WAITING, ACCEPTED, FORWARDING, IN_XERO, FAILED = (
    "rejected",
    "waiting",
    "accepted",
    "forwarding",
    "in_xero",
    "failed",
)

_mutation_decoder = msgspec.json.Decoder(AnyMutation)


@dataclass(frozen=True, slots=True)
class NewUpload:
    device_id: uuid.UUID | None
    mutation_id: str
    request_hash: str
    kind: str
    entity: str
    record_id: str
    state: str
    request: bytes
    result: bytes


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """An accepted upload ready to forward: every upload it depends on is in Xero."""

    upload_id: int
    kind: str
    entity: str
    record_id: str
    mutation: AnyMutation


async def find_uploads(
    session: AsyncSession, organisation_id: uuid.UUID, mutation_ids: Sequence[str]
) -> dict[str, Upload]:
    rows = await session.scalars(
        select(Upload).where(Upload.organisation_id == organisation_id, Upload.mutation_id.in_(mutation_ids))
    )
    return {row.mutation_id: row for row in rows}


async def open_dependencies(
    session: AsyncSession, organisation_id: uuid.UUID, record_ids: Iterable[str]
) -> list[int]:
    """For each record, its latest non-rejected upload if that is not in Xero yet."""
    found = []
    for record_id in dict.fromkeys(record_ids):
        latest = (
            await session.execute(
                select(Upload.id, Upload.state)
                .where(
                    Upload.organisation_id == organisation_id,
                    Upload.record_id == record_id,
                    Upload.state != REJECTED,
                )
                .order_by(Upload.id.desc())
                .limit(1)
            )
        ).one_or_none()
        if latest is not None and latest.state != IN_XERO:
            found.append(latest.id)
    return found


async def was_rejected(session: AsyncSession, organisation_id: uuid.UUID, record_id: str) -> bool:
    found = await session.scalar(
        select(Upload.id)
        .where(
            Upload.organisation_id == organisation_id,
            Upload.record_id == record_id,
            Upload.state == REJECTED,
        )
        .limit(1)
    )
    return found is not None


async def add_upload(
    session: AsyncSession, organisation_id: uuid.UUID, new: NewUpload, depends_on: Sequence[int]
) -> Upload:
    upload = Upload(
        organisation_id=organisation_id,
        device_id=new.device_id,
        mutation_id=new.mutation_id,
        request_hash=new.request_hash,
        kind=new.kind,
        entity=new.entity,
        record_id=new.record_id,
        state=new.state,
        request=new.request,
        result=new.result,
        last_error="",
        attempts=0,
    )
    session.add(upload)
    await session.flush()
    session.add_all(UploadDependency(upload_id=upload.id, depends_on_id=d) for d in depends_on)
    return upload


async def forwardable_uploads(
    session: AsyncSession, organisation_id: uuid.UUID, limit: int = 100
) -> list[OutboxItem]:
    """Accepted uploads whose dependencies are all in Xero, oldest first: the forwarder's next work.

    ``waiting`` rows become ``accepted`` when ``record_fate`` reports their last dependency in Xero.
    """
    rows = await session.scalars(
        select(Upload)
        .where(Upload.organisation_id == organisation_id, Upload.state == ACCEPTED)
        .order_by(Upload.id)
        .limit(limit)
    )
    return [
        OutboxItem(row.id, row.kind, row.entity, row.record_id, _mutation_decoder.decode(row.request))
        for row in rows
    ]
