"""Liveness and readiness probes."""

from __future__ import annotations

import os
from typing import Any

from litestar import Controller, get
from litestar.datastructures import State
from sqlalchemy.exc import SQLAlchemyError

from server.core.errors import Unavailable
from server.http.errors import error_response
from server.http.services import services_of
from sync_protocol.errors import ErrorCode


class HealthController(Controller):
    tags = ["operations"]
    include_in_schema = True

    @get("/healthz", summary="The process is alive (and which one answered)", cache=False)
    async def healthz(self) -> dict[str, str | int]:
        # The process id tells which of several server processes behind one port answered.
        return {"status": "ok", "process": os.getpid()}

    @get(
        "/readyz",
        summary="The database answers and its schema is current",
        cache=False,
        responses={503: error_response("The database is unreachable or its schema is not current")},
    )
    async def readyz(self, state: State) -> dict[str, Any]:
        database = services_of(state).database
        try:
            await database.ping()
            current = await database.migrations_current()
        except (SQLAlchemyError, OSError) as exc:
            raise Unavailable("the database cannot be reached", code=ErrorCode.DATABASE_UNREACHABLE) from exc
        if not current:
            raise Unavailable(
                "the database schema is not at the latest migration", code=ErrorCode.MIGRATIONS_PENDING
            )
        return {"status": "ready", "database": database.dialect, "migrations": "current"}
