"""The Sync page: Sync now (everything, or one data type), the run's progress and result in place."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery

from server.admin.console.rendering import fragment, page, see_other, wants_fragment
from server.core.data_types import DATA_TYPES
from server.core.errors import LedgersyncError
from server.core.sync_log import EVENTS, RunView
from server.http.admin_auth import provide_admin, require_admin
from server.http.services import services_of
from server.mirror.scheduler import schedule_of
from server.mirror.service import SyncService
from server.services.admins import AdminPrincipal
from server.services.sync_overview import latest_run

PATH = "/admin/sync"
TYPE_LABELS = {
    "tax_rates": "Tax rates",
    "customers": "Customers",
    "products": "Products",
    "accounts": "Accounts",
    "tracking_categories": "Tracking categories",
    "branding_themes": "Branding themes",
    "invoices": "Invoices",
    "payments": "Payments",
    # Forwarding runs name the entities they sent.
    "customer": "Customers",
    "invoice": "Invoices",
    "payment": "Payments",
    "settings": "Settings",
}


KIND_LABELS = {"pull": "From Xero", "forward": "To Xero", "settings": "Settings change", "event": "Event"}


def label(name: str) -> str:
    return TYPE_LABELS.get(name) or name.replace("_", " ").capitalize()


def what(run: RunView) -> str:
    """What a run of the log concerned, in words."""
    if run.kind == "settings":
        return "Settings"
    if run.kind == "event":
        return str(run.details.get("summary") or EVENTS.get(run.types[0] if run.types else "", "Event"))
    if run.kind == "pull" and set(run.types) == set(DATA_TYPES):
        return "everything"
    return ", ".join(label(name) for name in run.types)


def kind_label(run: RunView) -> str:
    if run.kind == "event" and run.types:
        return EVENTS.get(run.types[0], "Event")
    return KIND_LABELS.get(run.kind, run.kind)


# While a run runs, the page asks for its status this often.
POLL_MILLISECONDS = 1000


class SyncForm(msgspec.Struct):
    type: str = "all"


def _sync(state: State) -> SyncService:
    return services_of(state).sync


def status_context(run: RunView | None, problem: str | None = None) -> dict[str, Any]:
    return {"run": run, "problem": problem, "poll_ms": POLL_MILLISECONDS}


class SyncController(Controller):
    path = PATH
    include_in_schema = False
    guards = [require_admin]
    dependencies = {"admin": Provide(provide_admin)}

    @get("/")
    async def show(
        self,
        request: Request[Any, Any, State],
        admin: NamedDependency[AdminPrincipal],
        state: State,
        run: FromQuery[uuid.UUID | None] = None,
    ) -> Response[Any]:
        shown = (
            await _sync(state).log.get(admin.organisation_id, run)
            if run
            else await latest_run(services_of(state).database, admin.organisation_id)
        )
        return page(
            request,
            "sync.html",
            title="Sync",
            active="sync",
            types=[(name, label(name)) for name in DATA_TYPES],
            schedule=await schedule_of(services_of(state).scheduler, admin.organisation_id),
            **status_context(shown),
        )

    @post("/", status_code=303)
    async def sync_now(
        self,
        request: Request[Any, Any, State],
        admin: NamedDependency[AdminPrincipal],
        state: State,
        data: Annotated[SyncForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        types = None if data.type == "all" else [data.type]
        try:
            run_id = await _sync(state).sync_now(admin.organisation_id, types)
        except LedgersyncError as exc:
            if wants_fragment(request):
                return fragment("_run_status.html", **status_context(None, exc.message))
            return see_other(PATH, ("problem", exc.message))
        if wants_fragment(request):
            return fragment(
                "_run_status.html",
                **status_context(await _sync(state).log.get(admin.organisation_id, run_id)),
            )
        return see_other(f"{PATH}?run={run_id}")

    @get("/runs/{run_id:uuid}/status")
    async def run_status(
        self, admin: NamedDependency[AdminPrincipal], state: State, run_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        return fragment(
            "_run_status.html", **status_context(await _sync(state).log.get(admin.organisation_id, run_id))
        )
