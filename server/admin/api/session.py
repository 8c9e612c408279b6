"""Signing admins in and out."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.params import JSONBody

from server.http.admin_auth import (
    cleared_session_cookie,
    client_address,
    provide_admin,
    require_admin,
    session_cookie,
    session_token_of,
)
from server.http.errors import error_response
from server.http.services import services_of
from server.services.admins import AdminPrincipal


class SignIn(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    password: str


class SessionOut(msgspec.Struct):
    token: str
    email: str
    organisation_id: str


class Me(msgspec.Struct):
    email: str
    organisation_id: str


class SessionController(Controller):
    path = "/admin/api/session"
    tags = ["admin"]

    @post(
        "/",
        summary="Sign in",
        description="Repeated failures lock the email out from the caller's address for a while (429).",
        status_code=201,
        responses={
            401: error_response("Wrong email or password"),
            415: error_response("The body is not sent as application/json"),
            429: error_response("Too many failed sign-ins; retry after `Retry-After` seconds"),
        },
    )
    async def sign_in(
        self, request: Request[Any, Any, Any], data: JSONBody[SignIn], state: State
    ) -> Response[SessionOut]:
        # A cross-site form cannot send application/json: no other site can sign a browser in (see
        # server/admin/console/csrf.py).
        if request.content_type[0] != "application/json":
            raise HTTPException(status_code=415, detail="send the sign-in as application/json")
        service = services_of(state).admins
        opened = await service.sign_in(data.email, data.password, client_address(request))
        body = SessionOut(opened.token, opened.principal.email, str(opened.principal.organisation_id))
        return Response(
            body, status_code=201, cookies=[session_cookie(opened.token, services_of(state).settings)]
        )

    @delete("/", summary="Sign out", guards=[require_admin], status_code=204)
    async def sign_out(self, request: Request[None, None, State], state: State) -> Response[None]:
        token = session_token_of(request)
        if token:
            await services_of(state).admins.sign_out(token)
        return Response(None, status_code=204, cookies=[cleared_session_cookie()])

    @get(
        "/",
        summary="The signed-in admin",
        guards=[require_admin],
        dependencies={"admin": Provide(provide_admin)},
        responses={401: error_response("Not signed in")},
    )
    async def me(self, admin: NamedDependency[AdminPrincipal]) -> Me:
        return Me(admin.email, str(admin.organisation_id))
