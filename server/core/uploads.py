"""Reading an upload's status, for ``GET /mobile/v1/uploads/{mutation_id}``."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import select

from server.core.errors import NotFound
from server.db.database import Database
from server.db.sync_models import Upload
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import MutationResult, UploadStatus

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
            # Any state, as stored: a superseded upload says so, though the wire type lists no such state.
            state=upload.state,  # type: ignore[arg-type]
            xero_id=upload.xero_id,
            message=upload.last_error or result.message,
            code=result.code,
            updated_at=upload.updated_at,
        )
