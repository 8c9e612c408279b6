"""Why a mutation was rejected: raised while validating one mutation, turned into its result."""

from __future__ import annotations

from typing import Any

from sync_protocol.errors import ErrorCode


class Rejected(Exception):
    def __init__(
        self, code: ErrorCode, message: str, field: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.details = details or {}
