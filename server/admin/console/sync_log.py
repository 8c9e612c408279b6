"""The sync log: runs newest first; a run's page with every error, Xero's words and a hint."""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter

from server.admin.console.messages import of_error
from server.admin.console.rendering import page
from server.admin.console.sync import label
from server.admin.console.uploads import KIND_LABELS
from server.core.errors import NotFound
from server.forwarding.outbox_admin import UploadView
from server.forwarding.upload_facts import facts_of
from server.http.admin_auth import provide_admin, require_admin
from server.http.services import services_of
from server.mirror.service import SyncService
from server.services.admins import AdminPrincipal

PAGE_SIZE = 25


def _sync(state: State) -> SyncService:
    return services_of(state).sync


def explained(error: dict[str, Any], run_kind: str) -> dict[str, Any]:
    """A run's error as the page shows it: each message once, labelled by who said it, with its hint."""
    return {
        "data_type": label(str(error.get("data_type") or "")),
        "said": of_error(error, run_kind),
        "record": error.get("record"),
        "record_url": record_url(error),
    }


def record_url(error: dict[str, Any]) -> str | None:
    """Where the record an error concerns can be seen: a failed upload's page, with its Retry."""
    upload_id = error.get("upload_id")
    if upload_id is not None:
        return f"/admin/uploads/{int(upload_id)}"
    return None


class SyncLogController(Controller):
    path = "/admin/sync-log"
    include_in_schema = False
    guards = [require_admin]
    dependencies = {"admin": Provide(provide_admin)}

    @get("/")
    async def runs(
        self,
        request: Request[Any, Any, State],
        admin: NamedDependency[AdminPrincipal],
        state: State,
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000)] = 1,
    ) -> Response[Any]:
        runs, total = await _sync(state).log.page(
            admin.organisation_id, PAGE_SIZE, (page_number - 1) * PAGE_SIZE
        )
        return page(
            request,
            "sync_log.html",
            title="Sync log",
            active="sync_log",
            wide=True,  # ten columns: the page takes the screen's width, and the table scrolls inside
            runs=runs,
            page_number=page_number,
            pages=max(1, math.ceil(total / PAGE_SIZE)),
            total=total,
        )

    @get("/{run_id:uuid}")
    async def run(
        self,
        request: Request[Any, Any, State],
        admin: NamedDependency[AdminPrincipal],
        state: State,
        run_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        run = await _sync(state).log.get(admin.organisation_id, run_id)
        # The uploads a forwarding run's errors concern, named in the office's words (customer, total).
        uploads: dict[int, UploadView] = {}
        for error in run.errors:
            if error.get("upload_id") is not None:
                try:
                    upload = await services_of(state).outbox.get(
                        admin.organisation_id, int(error["upload_id"])
                    )
                except NotFound:  # cleared since
                    continue
                uploads[upload.id] = upload
        facts = await facts_of(services_of(state).database, admin.organisation_id, list(uploads.values()))
        errors = []
        for error in run.errors:
            shown = explained(error, run.kind)
            upload_id = error.get("upload_id")
            shown["upload"] = uploads.get(int(upload_id)) if upload_id is not None else None
            errors.append(shown)
        return page(
            request,
            "sync_run.html",
            title="Sync run",
            active="sync_log",
            run=run,
            errors=errors,
            facts=facts,
            kind_labels=KIND_LABELS,
        )
