"""Pairing phones to an organisation, resolving their bearer tokens, and revoking them."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from server.core.errors import InvalidInput, NotFound, Unauthenticated
from server.core.principals import DevicePrincipal
from server.core.sync_log import event_entry
from server.core.tokens import new_token, token_hash
from server.db.database import Database
from server.db.point_reads import PointQuery, utc_timestamp
from server.db.sync_models import Device, PairingCode
from server.db.types import utcnow
from sync_protocol.errors import ErrorCode

PAIRING_CODE_LIFETIME = timedelta(minutes=15)
# A device's last-seen time is kept to the minute: one write a minute, not one per request.
SEEN_PRECISION = timedelta(minutes=1)
# No 0/O, 1/I/L: a code is read off a screen and typed on a phone.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 10  # 31^10 ≈ 8e14 guesses, behind a short lifetime and one-time use


@dataclass(frozen=True)
class IssuedPairingCode:
    code: str
    staff_name: str
    expires_at: datetime


@dataclass(frozen=True)
class PairedDevice:
    token: str
    principal: DevicePrincipal


@dataclass(frozen=True)
class DeviceInfo:
    id: uuid.UUID
    staff_name: str
    device_name: str
    created_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None = None
    last_sync_at: datetime | None = None


def normalise_code(code: str) -> str:
    """Codes are shown as ``ABCDE-FGHJK``; typed case and separators do not matter."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _new_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


# With the organisation's feed counter: a caught-up poll needs nothing else (PullService.pull).
_DEVICE_BY_TOKEN = PointQuery(
    "SELECT d.id, d.organisation_id, d.staff_name, d.revoked_at IS NOT NULL, d.last_seen_at,"
    " d.last_sync_at, c.version, c.horizon"
    " FROM devices d LEFT JOIN sync_counters c ON c.organisation_id = d.organisation_id"
    " WHERE d.token_hash = ?"
)

_STILL_PAIRED = PointQuery("SELECT revoked_at IS NULL FROM devices WHERE id = ?")


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


class DeviceService:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def issue_pairing_code(self, organisation_id: uuid.UUID, staff_name: str) -> IssuedPairingCode:
        staff_name = staff_name.strip()
        if not staff_name:
            raise InvalidInput("staff_name must not be empty", field="staff_name")
        code = _new_code()
        expires_at = utcnow() + PAIRING_CODE_LIFETIME
        async with self._db.transaction() as session:
            session.add(
                PairingCode(
                    organisation_id=organisation_id,
                    staff_name=staff_name,
                    code_hash=token_hash(normalise_code(code)),
                    expires_at=expires_at,
                )
            )
        return IssuedPairingCode(code, staff_name, expires_at)

    async def pair(self, code: str, device_name: str) -> PairedDevice:
        """Trades a pairing code for a device token, once."""
        now = utcnow()
        async with self._db.transaction() as session:
            # The conditional UPDATE claims the code atomically: two phones racing get one winner.
            claimed = (
                await session.execute(
                    update(PairingCode)
                    .where(
                        PairingCode.code_hash == token_hash(normalise_code(code)),
                        PairingCode.used_at.is_(None),
                        PairingCode.expires_at > now,
                    )
                    .values(used_at=now)
                    .returning(PairingCode.organisation_id, PairingCode.staff_name)
                )
            ).one_or_none()
            if claimed is None:
                raise Unauthenticated(
                    "pairing code is unknown, expired or used already; ask your admin for a new one",
                    code=ErrorCode.PAIRING_CODE_INVALID,
                )
            token = new_token("ls_dev")
            device = Device(
                organisation_id=claimed.organisation_id,
                staff_name=claimed.staff_name,
                device_name=device_name,
                token_hash=token_hash(token),
            )
            session.add(device)
            await session.flush()
            phone = f" ({device_name})" if device_name else ""
            session.add(
                event_entry(
                    claimed.organisation_id,
                    "device_paired",
                    f"{claimed.staff_name}'s phone{phone} was paired.",
                    trigger="phone",
                    details={"device_id": str(device.id)},
                )
            )
            return PairedDevice(token, DevicePrincipal(device.id, device.organisation_id, device.staff_name))

    async def resolve(self, token: str) -> DevicePrincipal:
        # Every mobile request runs this: one statement straight through the driver (point_reads).
        device = await self._db.point.row(_DEVICE_BY_TOKEN, token_hash(token))
        if device is None:
            raise Unauthenticated(
                "unknown device token; pair this device again", code=ErrorCode.UNAUTHENTICATED
            )
        device_id, organisation_id, staff_name, revoked, seen, synced, version, horizon = device
        if revoked:
            raise Unauthenticated("this device was revoked; pair it again", code=ErrorCode.DEVICE_REVOKED)
        principal = DevicePrincipal(
            _uuid(device_id),
            _uuid(organisation_id),
            staff_name,
            last_sync_at=utc_timestamp(synced),
            feed_counter=(int(version or 0), int(horizon or 0)),
        )
        last_seen = utc_timestamp(seen)
        now = utcnow()
        if last_seen is None or last_seen < now - SEEN_PRECISION:
            async with self._db.transaction() as session:
                await session.execute(
                    update(Device).where(Device.id == principal.device_id).values(last_seen_at=now)
                )
        return principal

    async def still_paired(self, device_id: uuid.UUID) -> bool:
        """False once the device is revoked (or gone): long-lived streams ask this as they go, since
        their token was checked only when they connected. One indexed point read."""
        row = await self._db.point.row(_STILL_PAIRED, device_id)
        return row is not None and bool(row[0])

    async def synced(self, device: DevicePrincipal) -> None:
        """The device pulled or pushed: its last sync (and last seen) is now, to the minute.

        Idle polls come many times a minute; writing each one would put a write transaction on
        every poll (on SQLite, behind the one write lock)."""
        now = utcnow()
        if device.last_sync_at is not None and device.last_sync_at >= now - SEEN_PRECISION:
            return
        async with self._db.transaction() as session:
            await session.execute(
                update(Device).where(Device.id == device.device_id).values(last_sync_at=now, last_seen_at=now)
            )

    async def list_devices(self, organisation_id: uuid.UUID) -> list[DeviceInfo]:
        async with self._db.sessions() as session:
            devices = await session.scalars(
                select(Device).where(Device.organisation_id == organisation_id).order_by(Device.created_at)
            )
            return [
                DeviceInfo(
                    d.id,
                    d.staff_name,
                    d.device_name,
                    d.created_at,
                    d.revoked_at,
                    d.last_seen_at,
                    d.last_sync_at,
                )
                for d in devices
            ]

    async def revoke(self, organisation_id: uuid.UUID, device_id: uuid.UUID, actor: str = "") -> None:
        async with self._db.transaction() as session:
            device = await session.scalar(
                select(Device).where(Device.id == device_id, Device.organisation_id == organisation_id)
            )
            if device is None:
                raise NotFound("no such device in this organisation", code=ErrorCode.NOT_FOUND)
            if device.revoked_at is None:
                device.revoked_at = utcnow()
                phone = f" ({device.device_name})" if device.device_name else ""
                session.add(
                    event_entry(
                        organisation_id,
                        "device_revoked",
                        f"{device.staff_name}'s phone{phone} was revoked: it can no longer sync.",
                        actor=actor,
                        details={"device_id": str(device.id)},
                    )
                )
