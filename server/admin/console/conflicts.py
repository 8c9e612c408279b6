"""The Conflicts page: fields a phone and a Xero user both changed, both values, and a button to
apply the phone's (the same service as ``POST /admin/api/conflicts/{id}/apply-phone``)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter

from server.admin.console.rendering import page, see_other
from server.core.errors import LedgersyncError
from server.forwarding.conflicts import ConflictsService
from server.http.admin_auth import provide_admin, require_admin
from server.http.services import services_of
from server.services.admins import AdminPrincipal
from server.services.conflict_names import conflict_names

PATH = "/admin/conflicts"
PAGE_SIZE = 50
FIELD_LABELS = {
    "name": "Name",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "account_number": "Account number",
    "tax_number": "Tax number",
    "address": "Address",
}


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, dict):
        return ", ".join(str(part) for part in value.values() if part) or "(empty)"
    return str(value)


def _conflicts(state: State) -> ConflictsService:
    return services_of(state).conflicts


class ConflictsPageController(Controller):
    path = PATH
    include_in_schema = False
    guards = [require_admin]
    dependencies = {"admin": Provide(provide_admin)}

    @get("/")
    async def conflicts(
        self,
        request: Request[Any, Any, State],
        admin: NamedDependency[AdminPrincipal],
        state: State,
        page_number: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
    ) -> Response[Any]:
        found = await _conflicts(state).page(admin.organisation_id, PAGE_SIZE, (page_number - 1) * PAGE_SIZE)
        return page(
            request,
            "conflicts.html",
            title="Conflicts",
            active="conflicts",
            conflicts=found.conflicts,
            names=await conflict_names(services_of(state).database, admin.organisation_id, found.conflicts),
            total=found.total,
            page_number=page_number,
            pages=max(1, math.ceil(found.total / PAGE_SIZE)),
            field_labels=FIELD_LABELS,
            shown=_shown,
        )

    @post("/{conflict_id:int}/apply-phone", status_code=303)
    async def apply_phone(
        self, admin: NamedDependency[AdminPrincipal], state: State, conflict_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await _conflicts(state).apply_phone(admin.organisation_id, conflict_id, admin.email)
        except LedgersyncError as exc:
            return see_other(PATH, ("problem", exc.message))
        return see_other(PATH, ("done", "The phone's value is on its way to Xero."))
