"""Admin routes of forwarding: the organisation's settings, the outbox, retrying an upload."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, Parameter, QueryParameter

from server.forwarding.outbox_admin import OutboxAdmin, StateFilter, UploadView
from server.forwarding.settings import ForwardingSettingsService, SettingsChange, SettingsView
from server.forwarding.worker import ForwardingWorkers
from server.http.admin_auth import provide_admin, require_admin
from server.http.errors import error_response
from server.http.input_guard import INT64_MAX, MAX_OFFSET
from server.http.services import services_of
from server.services.admins import AdminPrincipal


class UploadsPage(msgspec.Struct):
    uploads: list[UploadView]
    total: int
    limit: int
    offset: int
    counts: dict[str, int]


def _settings(state: State) -> ForwardingSettingsService:
    return services_of(state).forwarding_settings


def _outbox(state: State) -> OutboxAdmin:
    return services_of(state).outbox


def _workers(state: State) -> ForwardingWorkers:
    return services_of(state).forwarding


class ForwardingController(Controller):
    path = "/admin/api"
    tags = ["admin", "forwarding"]
    guards = [require_admin]
    dependencies = {"admin": Provide(provide_admin)}

    @get("/settings", summary="How this organisation's uploads go to Xero")
    async def settings(self, admin: NamedDependency[AdminPrincipal], state: State) -> SettingsView:
        return await _settings(state).get(admin.organisation_id)

    @put(
        "/settings",
        summary="Change forwarding settings (fields left out keep their value); logged with who changed what",
        responses={400: error_response("A value is not acceptable; details.field names it")},
    )
    async def change_settings(
        self, admin: NamedDependency[AdminPrincipal], state: State, data: JSONBody[SettingsChange]
    ) -> SettingsView:
        return await _settings(state).update(admin.organisation_id, admin.email, data)

    @get("/uploads", summary="The outbox: uploads newest first, optionally of one state")
    async def uploads(
        self,
        admin: NamedDependency[AdminPrincipal],
        state: State,
        upload_state: Annotated[StateFilter | None, QueryParameter(name="state")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> UploadsPage:
        views, total, counts = await _outbox(state).page(admin.organisation_id, upload_state, limit, offset)
        return UploadsPage(views, total, limit, offset, counts)

    @get("/uploads/{upload_id:int}", summary="One upload", responses={404: error_response("No such upload")})
    async def upload(
        self,
        admin: NamedDependency[AdminPrincipal],
        state: State,
        upload_id: Annotated[int, Parameter(ge=1, le=INT64_MAX)],
    ) -> UploadView:
        return await _outbox(state).get(admin.organisation_id, upload_id)

    @post(
        "/uploads/{upload_id:int}/retry",
        summary="Send a failed or held upload to Xero again",
        status_code=202,
        responses={404: error_response("No such upload"), 409: error_response("The upload is not failed")},
    )
    async def retry(
        self,
        admin: NamedDependency[AdminPrincipal],
        state: State,
        upload_id: Annotated[int, Parameter(ge=1, le=INT64_MAX)],
    ) -> Response[UploadView]:
        view = await _outbox(state).retry(admin.organisation_id, upload_id)
        _workers(state).wake()
        return Response(view, status_code=202)
