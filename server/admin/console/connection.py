"""The Xero connection page: which tenant, is it healthy, the last good sync; connect, reconnect,
choose a tenant, disconnect. Connecting is the real OAuth redirect to Xero's consent page."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect

from server.admin.console.rendering import page, see_other
from server.core.errors import LedgersyncError
from server.http.admin_auth import provide_admin, require_admin
from server.http.services import services_of
from server.services.admins import AdminPrincipal
from server.services.sync_overview import last_successful_sync
from server.services.xero_connect import CallbackOutcome, XeroConnectService

PATH = "/admin/connection"


class TenantForm(msgspec.Struct):
    state: str = ""
    tenant_id: str = ""


def _service(state: State) -> XeroConnectService:
    return services_of(state).xero_connect


class ConnectionController(Controller):
    path = PATH
    include_in_schema = False
    guards = [require_admin]
    dependencies = {"admin": Provide(provide_admin)}

    @get("/")
    async def show(
        self, request: Request[Any, Any, State], admin: NamedDependency[AdminPrincipal], state: State
    ) -> Response[Any]:
        info = await _service(state).info(admin.organisation_id)
        last_sync = await last_successful_sync(services_of(state).database, admin.organisation_id)
        return page(
            request,
            "connection.html",
            title="Xero connection",
            active="connection",
            info=info,
            last_sync=last_sync,
        )

    @post("/connect", status_code=303)
    async def connect(self, admin: NamedDependency[AdminPrincipal], state: State) -> Redirect:
        """Off to Xero's consent page; Xero sends the browser back to /admin/xero/callback."""
        try:
            url = await _service(state).start(admin.organisation_id)
        except LedgersyncError as exc:
            return see_other(PATH, ("problem", exc.message))
        return Redirect(url, status_code=303)

    @get("/switch")
    async def confirm_switch(
        self, request: Request[Any, Any, State], admin: NamedDependency[AdminPrincipal], state: State
    ) -> Response[Any]:
        """What choosing again in Xero means, before the browser goes there (a switch cannot be undone
        by switching back: the old organisation's uploads stay failed, phones download again)."""
        info = await _service(state).info(admin.organisation_id)
        if info is None:
            return see_other(PATH)
        counts = await services_of(state).outbox.counts(admin.organisation_id)
        unsent = sum(counts.get(name, 0) for name in ("waiting", "due", "retrying", "failed", "held"))
        return page(
            request,
            "switch.html",
            title="Reconnect or switch the Xero organisation",
            active="connection",
            info=info,
            unsent=unsent,
        )

    @get("/disconnect")
    async def confirm_disconnect(
        self, request: Request[Any, Any, State], admin: NamedDependency[AdminPrincipal], state: State
    ) -> Response[Any]:
        info = await _service(state).info(admin.organisation_id)
        if info is None:
            return see_other(PATH, ("problem", "This organisation is not connected to Xero."))
        return page(request, "disconnect.html", title="Disconnect Xero", active="connection", info=info)

    @post("/disconnect", status_code=303)
    async def disconnect(self, admin: NamedDependency[AdminPrincipal], state: State) -> Redirect:
        try:
            await _service(state).disconnect(admin.organisation_id, actor=admin.email)
        except LedgersyncError as exc:
            return see_other(PATH, ("problem", exc.message))
        return see_other(PATH, ("done", "Xero is disconnected. Phones keep their data."))

    @get("/tenant")
    async def choose_tenant_form(
        self,
        request: Request[Any, Any, State],
        admin: NamedDependency[AdminPrincipal],
        state: State,
        # Litestar reserves the parameter name ``state`` for the application state.
        flow: Annotated[str, QueryParameter(name="state")] = "",
    ) -> Response[Any]:
        try:
            tenants = await _service(state).pending_tenants(admin.organisation_id, flow)
        except LedgersyncError as exc:
            return see_other(PATH, ("problem", f"{exc.message}; connect again."))
        return page(
            request,
            "tenant.html",
            title="Choose the Xero organisation",
            active="connection",
            tenants=tenants,
            flow=flow,
            current=await _service(state).info(admin.organisation_id),
        )

    @post("/tenant", status_code=303)
    async def choose_tenant(
        self,
        admin: NamedDependency[AdminPrincipal],
        state: State,
        data: Annotated[TenantForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Redirect:
        try:
            tenant = await _service(state).choose_tenant(admin.organisation_id, data.state, data.tenant_id)
        except LedgersyncError as exc:
            return see_other(PATH, ("problem", exc.message))
        return see_other(PATH, ("done", connected_message(tenant.name)))


def browser_callback(outcome: CallbackOutcome | LedgersyncError) -> Redirect:
    """Where a browser coming back from Xero's consent page lands (the callback serves JSON otherwise)."""
    if isinstance(outcome, LedgersyncError):
        return see_other(PATH, ("problem", outcome.message))
    if outcome.status == "choose_tenant" and outcome.state:
        return see_other(f"{PATH}/tenant?state={outcome.state}")
    name = outcome.tenant.name if outcome.tenant else "Xero"
    return see_other(PATH, ("done", connected_message(name)))


def connected_message(name: str) -> str:
    return f"Connected to the Xero organisation {name}. A sync from Xero has started."
