"""What the console's home page shows: is everything flowing, and what needs the admin.

One read of each: the connection, the last successful pull and what it brought, the outbox by state,
the phones and when each last synced, the calls made to Xero in the last day against Xero's daily
budget, and the set-up steps still to do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from server.core.sync_log import RunView
from server.db.database import Database
from server.db.mirror_models import SyncRun
from server.db.types import utcnow
from server.forwarding.outbox_admin import OutboxAdmin
from server.forwarding.settings import ForwardingSettingsService, SettingsView
from server.services.devices import DeviceInfo, DeviceService
from server.services.sync_overview import last_successful_sync
from server.xero_link.access import XeroAccess
from server.xero_link.tokens import ConnectionInfo

# Xero's daily limit per organisation (tenant): https://developer.xero.com/documentation/guides/oauth2/limits/
XERO_DAILY_CALLS = 5000
# Xero counts its day as a rolling 24 hours, so ledgersync counts the same window.
BUDGET_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Budget:
    used: int
    limit: int = XERO_DAILY_CALLS
    # "xero": Xero's own count (X-DayLimit-Remaining of the latest answer this process saw);
    # "logged": the calls ledgersync's runs logged in the window (Xero has not said yet).
    source: str = "logged"

    @property
    def share(self) -> float:
        return min(1.0, self.used / self.limit) if self.limit else 1.0


@dataclass(frozen=True)
class SetupStep:
    key: str
    label: str
    done: bool
    href: str
    why: str


@dataclass(frozen=True)
class Overview:
    connection: ConnectionInfo | None
    last_pull: RunView | None
    uploads: dict[str, int]
    devices: list[DeviceInfo]
    budget: Budget
    setup: list[SetupStep] = field(default_factory=list)

    @property
    def setup_left(self) -> list[SetupStep]:
        return [step for step in self.setup if not step.done]


def setup_steps(settings: SettingsView, devices: list[DeviceInfo]) -> list[SetupStep]:
    """What a newly connected organisation still has to do before phones' uploads reach Xero."""
    return [
        SetupStep(
            "bank_account",
            "Choose the bank account for payments",
            bool(settings.bank_account_code),
            "/admin/settings#bank_account_code",
            "Payments taken on phones go into this account in Xero; without it they cannot be sent.",
        ),
        SetupStep(
            "revenue_account",
            "Choose the revenue account for sales",
            bool(settings.revenue_account_code),
            "/admin/settings#revenue_account_code",
            "Invoice lines without an account of their own are recorded against it.",
        ),
        SetupStep(
            "options",
            "Review what goes to Xero",
            settings.updated_at is not None,
            "/admin/settings",
            "Payments, customer and product edits, and the status of new invoices: save Settings once.",
        ),
        SetupStep(
            "phone",
            "Pair a first phone",
            bool(devices),
            "/admin/devices",
            "Make a pairing code on Devices and enter it in the app on a staff member's phone.",
        ),
    ]


class OverviewService:
    def __init__(
        self,
        database: Database,
        access: XeroAccess,
        outbox: OutboxAdmin,
        devices: DeviceService,
        settings: ForwardingSettingsService,
    ) -> None:
        self._db = database
        self._access = access
        self._outbox = outbox
        self._devices = devices
        self._settings = settings

    async def overview(self, organisation_id: uuid.UUID) -> Overview:
        connection = await self._access.tokens.info(organisation_id)
        every = await self._devices.list_devices(organisation_id)
        devices = [d for d in every if d.revoked_at is None]
        # A phone paired once counts as done, even if revoked since: the step is about learning how.
        setup = setup_steps(await self._settings.get(organisation_id), every) if connection else []
        return Overview(
            connection=connection,
            last_pull=await last_successful_sync(self._db, organisation_id),
            uploads=await self._outbox.counts(organisation_id),
            devices=devices,
            budget=await self.budget(organisation_id, connection),
            setup=setup,
        )

    async def budget(self, organisation_id: uuid.UUID, connection: ConnectionInfo | None) -> Budget:
        async with self._db.sessions() as session:
            logged = await session.scalar(
                select(func.coalesce(func.sum(SyncRun.xero_calls), 0)).where(
                    SyncRun.organisation_id == organisation_id,
                    SyncRun.started_at >= utcnow() - BUDGET_WINDOW,
                )
            )
        used = int(logged or 0)
        if connection is not None:
            remaining = self._access.limiters.for_tenant(connection.tenant_id).day_remaining
            # Xero's own count also has the calls other apps (and other processes) made for the
            # tenant: when it says more were used than ledgersync logged, it is the truer figure.
            if remaining is not None and XERO_DAILY_CALLS - remaining > used:
                return Budget(used=XERO_DAILY_CALLS - remaining, source="xero")
        return Budget(used=used)
