"""Signing admins in and out."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody

from server.admin_api.auth import SESSION_COOKIE, provide_admin, require_admin, session_token_of
from server.http_errors import error_response
from server.services.admins import SESSION_LIFETIME, AdminPrincipal, AdminService


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

    @post("/", summary="Sign in", status_code=201, responses={401: error_response("Wrong email or password")})
    async def sign_in(self, data: JSONBody[SignIn], state: State) -> Response[SessionOut]:
        service: AdminService = state.admins
        opened = await service.sign_in(data.email, data.password)
        body = SessionOut(opened.token, opened.principal.email, str(opened.principal.organisation_id))
        secure = state.settings.base_url.startswith("https://")
        cookie = Cookie(
            key=SESSION_COOKIE,
            value=opened.token,
            httponly=True,
            samesite="lax",
            secure=secure,
            max_age=int(SESSION_LIFETIME.total_seconds()),
            path="/",
        )
        return Response(body, status_code=201, cookies=[cookie])

    @delete("/", summary="Sign out", guards=[require_admin], status_code=204)
    async def sign_out(self, request: Request[None, None, State], state: State) -> Response[None]:
        token = session_token_of(request)
        if token:
            await state.admins.sign_out(token)
        return Response(
            None, status_code=204, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")]
        )

    @get(
        "/",
        summary="The signed-in admin",
        guards=[require_admin],
        dependencies={"admin": Provide(provide_admin)},
        responses={401: error_response("Not signed in")},
    )
    async def me(self, admin: NamedDependency[AdminPrincipal]) -> Me:
        return Me(admin.email, str(admin.organisation_id))
