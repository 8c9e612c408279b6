"""Admin routes of edit conflicts: fields a phone and Xero both changed; applying the phone's value."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter

from server.forwarding.conflicts import ConflictsPage, ConflictsService, ConflictView
from server.http.admin_auth import provide_admin, require_admin
from server.http.errors import error_response
from server.http.services import services_of
from server.services.admins import AdminPrincipal


def _conflicts(state: State) -> ConflictsService:
    return services_of(state).conflicts


class ConflictsController(Controller):
    path = "/admin/api/conflicts"
    tags = ["admin", "forwarding"]
    guards = [require_admin]
    dependencies = {"admin": Provide(provide_admin)}

    @get("/", summary="Edit conflicts, newest first: a field a phone and a Xero user both changed")
    async def conflicts(
        self,
        admin: NamedDependency[AdminPrincipal],
        state: State,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> ConflictsPage:
        return await _conflicts(state).page(admin.organisation_id, limit, offset)

    @post(
        "/{conflict_id:int}/apply-phone",
        summary="Send the phone's value of the conflicting field to Xero (queued as an upload)",
        status_code=202,
        responses={
            404: error_response("No such conflict"),
            409: error_response("The phone's value is in Xero already, or was applied before"),
        },
    )
    async def apply_phone(
        self, admin: NamedDependency[AdminPrincipal], state: State, conflict_id: FromPath[int]
    ) -> Response[ConflictView]:
        view = await _conflicts(state).apply_phone(admin.organisation_id, conflict_id, admin.email)
        return Response(view, status_code=202)
