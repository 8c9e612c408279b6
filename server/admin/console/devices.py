"""Devices: staff phones with last seen and last sync; pairing codes (text and QR code); revoking,
after a confirmation page (no script needed)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
import segno
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from markupsafe import Markup

from server.admin.console.rendering import fragment, page, see_other, wants_fragment
from server.core.errors import InvalidInput, LedgersyncError, NotFound
from server.http.admin_auth import provide_admin, require_admin
from server.http.services import services_of
from server.services.admins import AdminPrincipal
from server.services.devices import DeviceService, IssuedPairingCode
from sync_protocol.errors import ErrorCode

PATH = "/admin/devices"


class PairingForm(msgspec.Struct):
    staff_name: str = ""


class RevokeForm(msgspec.Struct):
    # Set by the confirmation page's button: a post without it (an old page's one-click form) is
    # sent to the confirmation page instead of revoking.
    confirm: str = ""


def pairing_link(base_url: str, code: str) -> str:
    """What the QR code holds: this server and the code, for a phone app to scan (docs/protocol.md)."""
    return "ledgersync://pair?" + urlencode({"server": base_url, "code": code})


def qr_svg(text: str, title: str) -> Markup:
    """An inline SVG QR code (segno); dark on light whatever the page's colours."""
    svg = segno.make(text, error="m").svg_inline(dark="#000", light="#fff", title=title, omitsize=True)
    return Markup(svg)


def _devices(state: State) -> DeviceService:
    return services_of(state).devices


class DevicesController(Controller):
    path = PATH
    include_in_schema = False
    guards = [require_admin]
    dependencies = {"admin": Provide(provide_admin)}

    async def _page(
        self,
        request: Request[Any, Any, State],
        admin: AdminPrincipal,
        state: State,
        issued: IssuedPairingCode | None = None,
        problem: str | None = None,
        status_code: int = 200,
    ) -> Response[Any]:
        return page(
            request,
            "devices.html",
            title="Devices",
            active="devices",
            devices=await _devices(state).list_devices(admin.organisation_id),
            status_code=status_code,
            **self._pairing(state, issued, problem),
        )

    def _pairing(self, state: State, issued: IssuedPairingCode | None, problem: str | None) -> dict[str, Any]:
        qr = None
        if issued is not None:
            qr = qr_svg(
                pairing_link(services_of(state).settings.base_url, issued.code), f"Pairing code {issued.code}"
            )
        return {"issued": issued, "qr": qr, "problem": problem}

    @get("/")
    async def show(
        self, request: Request[Any, Any, State], admin: NamedDependency[AdminPrincipal], state: State
    ) -> Response[Any]:
        return await self._page(request, admin, state)

    @post("/pairing-codes", status_code=200)
    async def issue(
        self,
        request: Request[Any, Any, State],
        admin: NamedDependency[AdminPrincipal],
        state: State,
        data: Annotated[PairingForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        # Shown once, in the response to the post: the code is not stored in a readable form.
        issued: IssuedPairingCode | None = None
        problem: str | None = None
        try:
            issued = await _devices(state).issue_pairing_code(admin.organisation_id, data.staff_name)
        except InvalidInput:
            problem = "Enter the staff member's name."
        status = 400 if problem else 200
        if wants_fragment(request):
            return fragment("_pairing.html", status_code=status, **self._pairing(state, issued, problem))
        return await self._page(request, admin, state, issued, problem, status)

    @get("/{device_id:uuid}/revoke")
    async def confirm_revoke(
        self,
        request: Request[Any, Any, State],
        admin: NamedDependency[AdminPrincipal],
        state: State,
        device_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Revoking cannot be undone (the phone must be paired again), so it is asked first."""
        devices = await _devices(state).list_devices(admin.organisation_id)
        device = next((d for d in devices if d.id == device_id), None)
        if device is None:
            raise NotFound("no such device in this organisation", code=ErrorCode.NOT_FOUND)
        if device.revoked_at is not None:
            return see_other(PATH, ("done", "That device is already revoked."))
        return page(request, "revoke.html", title="Revoke a device", active="devices", device=device)

    @post("/{device_id:uuid}/revoke", status_code=303)
    async def revoke(
        self,
        admin: NamedDependency[AdminPrincipal],
        state: State,
        device_id: FromPath[uuid.UUID],
        data: Annotated[RevokeForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        if data.confirm != "yes":
            return see_other(f"{PATH}/{device_id}/revoke")
        try:
            await _devices(state).revoke(admin.organisation_id, device_id, actor=admin.email)
        except LedgersyncError as exc:
            return see_other(PATH, ("problem", exc.message))
        return see_other(PATH, ("done", "The device is revoked; it can no longer sync."))
