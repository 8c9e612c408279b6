"""Admin routes for phones: issue pairing codes, list paired devices, revoke one."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from server.http.admin_auth import provide_admin, require_admin
from server.http.errors import error_response
from server.http.services import services_of
from server.services.admins import AdminPrincipal


class NewPairingCode(msgspec.Struct, forbid_unknown_fields=True):
    staff_name: str


class PairingCodeOut(msgspec.Struct):
    code: str
    staff_name: str
    expires_at: datetime


class DeviceOut(msgspec.Struct):
    id: str
    staff_name: str
    device_name: str
    created_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None
    last_sync_at: datetime | None


class DevicesController(Controller):
    path = "/admin/api/devices"
    tags = ["admin"]
    guards = [require_admin]
    dependencies = {"admin": Provide(provide_admin)}

    @post(
        "/pairing-codes",
        summary="Issue a pairing code",
        description="A one-time code, valid for 15 minutes, that pairs one phone for the named staff member.",
        status_code=201,
        responses={401: error_response("Not signed in")},
    )
    async def issue_pairing_code(
        self, data: JSONBody[NewPairingCode], admin: NamedDependency[AdminPrincipal], state: State
    ) -> PairingCodeOut:
        devices = services_of(state).devices
        issued = await devices.issue_pairing_code(admin.organisation_id, data.staff_name)
        return PairingCodeOut(issued.code, issued.staff_name, issued.expires_at)

    @get("/", summary="List paired devices", responses={401: error_response("Not signed in")})
    async def list_devices(self, admin: NamedDependency[AdminPrincipal], state: State) -> list[DeviceOut]:
        devices = services_of(state).devices
        return [
            DeviceOut(
                str(d.id),
                d.staff_name,
                d.device_name,
                d.created_at,
                d.revoked_at,
                d.last_seen_at,
                d.last_sync_at,
            )
            for d in await devices.list_devices(admin.organisation_id)
        ]

    @post(
        "/{device_id:uuid}/revoke",
        summary="Revoke a device",
        description="The device's token stops working at once; its uploads already accepted stay queued.",
        status_code=204,
        responses={404: error_response("No such device in this organisation")},
    )
    async def revoke(
        self, device_id: FromPath[uuid.UUID], admin: NamedDependency[AdminPrincipal], state: State
    ) -> Response[None]:
        devices = services_of(state).devices
        await devices.revoke(admin.organisation_id, device_id, actor=admin.email)
        return Response(None, status_code=204)
