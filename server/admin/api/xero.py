"""Admin routes of the Xero connection: connect (OAuth redirect), callback, tenant choice, status,
disconnect. Parse, call ``XeroConnectService``, encode."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.response import Redirect

from server.core.errors import LedgersyncError
from server.http.admin_auth import provide_admin, require_admin
from server.http.errors import error_response
from server.http.services import services_of
from server.services.admins import AdminPrincipal
from server.services.xero_connect import CallbackOutcome, XeroConnectService


class TenantOut(msgspec.Struct):
    tenant_id: str
    name: str


class CallbackOut(msgspec.Struct):
    status: str
    tenant: TenantOut | None = None
    tenants: list[TenantOut] = []
    state: str | None = None


class TenantChoice(msgspec.Struct, forbid_unknown_fields=True):
    state: str
    tenant_id: str


class ConnectionOut(msgspec.Struct):
    connected: bool
    status: str  # not_connected | connected | needs_reconnect
    tenant_id: str | None = None
    tenant_name: str | None = None
    reason: str | None = None
    connected_at: datetime | None = None


def _service(state: State) -> XeroConnectService:
    return services_of(state).xero_connect


def _callback_out(outcome: CallbackOutcome) -> CallbackOut:
    return CallbackOut(
        status=outcome.status,
        tenant=TenantOut(outcome.tenant.tenant_id, outcome.tenant.name) if outcome.tenant else None,
        tenants=[TenantOut(t.tenant_id, t.name) for t in outcome.tenants],
        state=outcome.state,
    )


class XeroAdminController(Controller):
    path = "/admin/api/xero"
    tags = ["admin", "xero"]
    guards = [require_admin]
    dependencies = {"admin": Provide(provide_admin)}

    @get("/connect", summary="Start connecting Xero (redirects to Xero's consent page)", status_code=302)
    async def connect(self, admin: NamedDependency[AdminPrincipal], state: State) -> Redirect:
        return Redirect(await _service(state).start(admin.organisation_id), status_code=302)

    @post(
        "/tenant",
        summary="Choose the Xero organisation when several were approved",
        status_code=200,
        responses={400: error_response("Unknown state or tenant")},
    )
    async def choose_tenant(
        self, admin: NamedDependency[AdminPrincipal], data: JSONBody[TenantChoice], state: State
    ) -> CallbackOut:
        tenant = await _service(state).choose_tenant(admin.organisation_id, data.state, data.tenant_id)
        return CallbackOut(status="connected", tenant=TenantOut(tenant.tenant_id, tenant.name))

    @get("/connection", summary="The Xero connection and its health")
    async def connection(self, admin: NamedDependency[AdminPrincipal], state: State) -> ConnectionOut:
        info = await _service(state).info(admin.organisation_id)
        if info is None:
            return ConnectionOut(connected=False, status="not_connected")
        return ConnectionOut(
            connected=info.status == "connected",
            status=info.status,
            tenant_id=info.tenant_id,
            tenant_name=info.tenant_name,
            reason=info.status_reason or None,
            connected_at=info.connected_at,
        )

    @delete(
        "/connection",
        summary="Disconnect Xero (revoke and remove the connection)",
        status_code=204,
        responses={404: error_response("Xero is not connected")},
    )
    async def disconnect(self, admin: NamedDependency[AdminPrincipal], state: State) -> Response[None]:
        await _service(state).disconnect(admin.organisation_id, actor=admin.email)
        return Response(None, status_code=204)


class XeroCallbackController(Controller):
    """Where Xero sends the admin's browser back; the ``state`` names the organisation."""

    path = "/admin/xero"
    tags = ["admin", "xero"]

    @get(
        "/callback",
        summary="OAuth callback from Xero",
        responses={400: error_response("Unknown or expired state, or access denied")},
    )
    async def callback(
        self,
        request: Request[Any, Any, Any],
        state: State,
        code: FromQuery[str | None] = None,
        error: FromQuery[str | None] = None,
        # Litestar reserves the parameter name ``state`` for the application state.
        oauth_state: Annotated[str | None, QueryParameter(name="state")] = None,
    ) -> CallbackOut | Redirect:
        if not _is_browser(request):
            return _callback_out(await _service(state).callback(oauth_state, code, error))
        # An admin's browser back from Xero's consent page: on to the console's connection page.
        try:
            outcome: CallbackOutcome | LedgersyncError = await _service(state).callback(
                oauth_state, code, error
            )
        except LedgersyncError as exc:
            outcome = exc
        landing = services_of(state).xero_browser_landing
        return landing(outcome)


def _is_browser(request: Request[Any, Any, Any]) -> bool:
    return request.accept.best_match(["application/json", "text/html"]) == "text/html"
