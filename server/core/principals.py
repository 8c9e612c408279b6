"""Who is acting: a paired device, as its bearer token resolved to (admins are ``services.admins``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class DevicePrincipal:
    device_id: uuid.UUID
    organisation_id: uuid.UUID
    staff_name: str
    # As read when the token was resolved: lets ``DeviceService.synced`` skip a write within SEEN_PRECISION.
    last_sync_at: datetime | None = field(default=None, compare=False)
    # The organisation's feed (latest version, horizon) read in the same statement as the token: a
    # caught-up poll answers from it with no second lookup (one database round trip, not two).
    feed_counter: tuple[int, int] | None = field(default=None, compare=False)
