"""Why a mutation was rejected: raised while validating one mutation, turned into its result.

Also the WatermelonDB side of rejections: a record a WatermelonDB device pushed and ledgersync
refused stays unsynced on that device, and the device learns why from a feed entity of its own,
``upload_rejection``, **one per (device, record)**: two devices holding refused edits of one record
each keep their own note, so neither overwrites the other's on every sync (which moved the feed of
a quiet organisation and defeated ETags).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import msgspec

from sync_protocol.errors import ErrorCode

REJECTION = "upload_rejection"  # feed entity: this device's latest push of a record was rejected


class Rejected(Exception):
    def __init__(
        self, code: ErrorCode, message: str, field: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.details = details or {}


class RejectionNote(msgspec.Struct, kw_only=True):
    """The feed payload of an ``upload_rejection``: read back by the device that pushed."""

    device_id: str
    table: str
    code: str
    message: str
    field: str | None = None
    mutation_id: str = ""
    record_id: str = ""  # empty in notes written before notes were per device (keyed by record id)
    deleted: bool = False  # the refused change was the app deleting the record
    # Lines the app deleted as part of a refused invoice edit: it keeps them marked deleted (rejected
    # ids) until it gets them back, as ``created``, like a refused deletion of a whole record.
    deleted_lines: list[str] = []
    # Lines the app created or changed in the refused invoice change: should the invoice reach the app
    # as deleted (voided elsewhere), these go as deleted too, or the app keeps lines of no invoice.
    lines: list[str] = []


def note_key(device_id: uuid.UUID | str, record_id: str) -> str:
    """The feed id of one device's note about one record (64 hex characters: the id column's size)."""
    return hashlib.sha256(f"{device_id}|{record_id}".encode()).hexdigest()
