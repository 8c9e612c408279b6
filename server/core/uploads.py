"""Reading an upload's status, for ``GET /mobile/v1/uploads/{mutation_id}``."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import select

from server.core.errors import NotFound
from server.core.states import UploadState
from server.db.database import Database
from server.db.sync_models import Upload
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import MutationResult, UploadStatus, UploadStatusState

# Every state an upload row can be in, as the wire names it (a test checks none is missing).
WIRE_STATES: dict[UploadState, UploadStatusState] = {
    UploadState.REJECTED: "rejected",
    UploadState.SUPERSEDED: "superseded",
    UploadState.WAITING: "waiting",
    UploadState.ACCEPTED: "accepted",
    UploadState.FORWARDING: "forwarding",
    UploadState.IN_XERO: "in_xero",
    UploadState.RETRYING: "retrying",
    UploadState.FAILED: "failed",
    UploadState.HELD: "held",
}

_result_decoder = msgspec.json.Decoder(MutationResult)


class UploadStatusService:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def status(self, organisation_id: uuid.UUID, mutation_id: str) -> UploadStatus:
        async with self._db.reads() as session:
            upload = await session.scalar(
                select(Upload).where(
                    Upload.organisation_id == organisation_id, Upload.mutation_id == mutation_id
                )
            )
        if upload is None:
            raise NotFound(f"no upload with mutation id {mutation_id}", code=ErrorCode.NOT_FOUND)
        result = _result_decoder.decode(upload.result)
        return UploadStatus(
            mutation_id=upload.mutation_id,
            status=result.status,
            entity=upload.entity,
            record_id=upload.record_id,
            state=WIRE_STATES[UploadState(upload.state)],
            xero_id=upload.xero_id,
            invoice_number=upload.xero_number if upload.entity == "invoice" else "",
            message=upload.last_error or result.message,
            field=upload.error_field or result.field,
            code=result.code,
            updated_at=upload.updated_at,
        )
