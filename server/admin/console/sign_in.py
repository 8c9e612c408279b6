"""Signing in and out of the console (the same sessions and lockout as the admin API)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from server.admin.console.flash import flash_cookie
from server.admin.console.rendering import page
from server.core.errors import RateLimited, Unauthenticated
from server.http.admin_auth import cleared_session_cookie, client_address, session_cookie, session_token_of
from server.http.services import services_of

HOME = "/admin"


class SignInForm(msgspec.Struct):
    email: str = ""
    password: str = ""
    next: str = ""


def safe_next(target: str) -> str:
    """Only a console path: an open redirect would let a link sign someone in and send them elsewhere."""
    if target.startswith("/admin/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


class SignInController(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/sign-in")
    async def form(
        self, request: Request[Any, Any, State], state: State, next: FromQuery[str] = ""
    ) -> Response[Any]:
        token = session_token_of(request)
        if token:
            try:
                await services_of(state).admins.resolve(token)
                return Redirect(safe_next(next), status_code=303)
            except Unauthenticated:
                pass
        return page(request, "sign_in.html", title="Sign in", next=safe_next(next), email="")

    @post("/sign-in", status_code=303)
    async def sign_in(
        self,
        request: Request[Any, Any, State],
        state: State,
        data: Annotated[SignInForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        service = services_of(state).admins
        try:
            opened = await service.sign_in(data.email, data.password, client_address(request))
        except RateLimited as exc:
            return self._again(
                request, data, exc.message, 429, {"Retry-After": str(int(exc.retry_after) + 1)}
            )
        except Unauthenticated:
            return self._again(request, data, "The email or the password is wrong.", 401)
        return Redirect(
            safe_next(data.next),
            status_code=303,
            cookies=[session_cookie(opened.token, services_of(state).settings)],
        )

    def _again(
        self,
        request: Request[Any, Any, State],
        data: SignInForm,
        problem: str,
        status_code: int,
        headers: dict[str, str] | None = None,
    ) -> Template:
        return page(
            request,
            "sign_in.html",
            title="Sign in",
            next=safe_next(data.next),
            email=data.email,
            problem=problem,
            status_code=status_code,
            headers=headers,
        )

    @post("/sign-out", status_code=303)
    async def sign_out(self, request: Request[Any, Any, State], state: State) -> Redirect:
        token = session_token_of(request)
        if token:
            await services_of(state).admins.sign_out(token)
        return Redirect(
            "/admin/sign-in",
            status_code=303,
            cookies=[cleared_session_cookie(), flash_cookie("done", "You are signed out.")],
        )
