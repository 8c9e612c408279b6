"""Admin routes of the mirror: Sync now, the sync log, mirrored accounts."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from server.core.accounts import mirrored_accounts
from server.core.errors import NotFound
from server.core.sync_log import RunView
from server.http.admin_auth import provide_admin, require_admin
from server.http.errors import error_response
from server.http.input_guard import MAX_OFFSET
from server.http.services import services_of
from server.mirror.budget import Schedule
from server.mirror.scheduler import schedule_of
from server.mirror.service import SyncService
from server.services.admins import AdminPrincipal
from sync_protocol.errors import ErrorCode


class SyncRequest(msgspec.Struct, forbid_unknown_fields=True):
    types: list[str] | None = None


class SyncStarted(msgspec.Struct):
    run_id: str


class RunsPage(msgspec.Struct):
    runs: list[RunView]
    total: int
    limit: int
    offset: int


class AccountOut(msgspec.Struct):
    id: str
    xero_id: str | None
    code: str
    name: str
    type: str
    account_class: str
    tax_type: str | None


def _sync(state: State) -> SyncService:
    return services_of(state).sync


class SyncController(Controller):
    path = "/admin/api"
    tags = ["admin", "mirror"]
    guards = [require_admin]
    dependencies = {"admin": Provide(provide_admin)}

    @post(
        "/sync",
        summary="Sync now: pull everything, or the given data types, from Xero",
        status_code=202,
        responses={409: error_response("A sync runs already, or Xero needs a reconnect")},
    )
    async def sync_now(
        self, admin: NamedDependency[AdminPrincipal], state: State, data: JSONBody[SyncRequest | None] = None
    ) -> Response[SyncStarted]:
        run_id = await _sync(state).sync_now(admin.organisation_id, data.types if data else None)
        return Response(SyncStarted(str(run_id)), status_code=202)

    @get(
        "/sync/schedule",
        summary="How often Xero is pulled for this organisation, and how fresh that keeps the mirror",
        description=(
            "`mode`: `admin` (the organisation's own `sync_interval_minutes`), `webhooks` (Xero's "
            "webhooks bring changes within seconds; the scheduled pull is the safety net), `budget` (no "
            "webhooks: as often as Xero's 5,000 calls a day allow, less the forwarding reserve, over a "
            "scheduled pull's mean cost), `fixed` or `off`. `freshness` says it in words."
        ),
        responses={404: error_response("The organisation is not connected to Xero")},
    )
    async def schedule(self, admin: NamedDependency[AdminPrincipal], state: State) -> Schedule:
        schedule = await schedule_of(services_of(state).scheduler, admin.organisation_id)
        if schedule is None:
            raise NotFound("connect Xero first: there is no schedule yet", code=ErrorCode.NOT_FOUND)
        return schedule

    @get("/sync-runs", summary="The sync log, newest first: pulls, forwarding runs, settings changes")
    async def runs(
        self,
        admin: NamedDependency[AdminPrincipal],
        state: State,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
        kind: Annotated[Literal["pull", "forward", "settings", "event"] | None, QueryParameter()] = None,
    ) -> RunsPage:
        runs, total = await _sync(state).log.page(admin.organisation_id, limit, offset, kind)
        return RunsPage(runs, total, limit, offset)

    @get("/sync-runs/{run_id:uuid}", summary="One sync run", responses={404: error_response("No such run")})
    async def run(
        self, admin: NamedDependency[AdminPrincipal], state: State, run_id: FromPath[uuid.UUID]
    ) -> RunView:
        return await _sync(state).log.get(admin.organisation_id, run_id)

    @get("/accounts", summary="Mirrored Xero accounts (active), optionally only BANK or REVENUE")
    async def accounts(
        self,
        admin: NamedDependency[AdminPrincipal],
        state: State,
        account_type: Annotated[Literal["BANK", "REVENUE"] | None, QueryParameter(name="type")] = None,
    ) -> list[AccountOut]:
        found = await mirrored_accounts(services_of(state).database, admin.organisation_id, account_type)
        return [
            AccountOut(a.id, a.xero_id, a.code, a.name, a.type, a.account_class, a.tax_type) for a in found
        ]
