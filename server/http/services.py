"""Everything a route, guard or hook needs, in one typed container that ``create_app`` fills.

The app's state holds it under one key (``services``); routes, guards and hooks read it with
``services_of`` and get typed attributes instead of untyped ``state.<name>`` look-ups. It lives here,
in the transport layer, so the mobile API and the admin API and console can name its type without
importing ``server.app``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.response import Redirect

from server.core.crypto import SecretBox
from server.core.errors import LedgersyncError
from server.core.pokes import FeedPokes
from server.core.pull import PullService
from server.core.push import PushService
from server.core.uploads import UploadStatusService
from server.db.database import Database
from server.forwarding.conflicts import ConflictsService
from server.forwarding.outbox_admin import OutboxAdmin
from server.forwarding.settings import ForwardingSettingsService
from server.forwarding.worker import ForwardingWorkers
from server.mirror.scheduler import MirrorScheduler
from server.mirror.service import SyncService
from server.mirror.webhooks import WebhookInbox, WebhookWorker
from server.services.admins import AdminService
from server.services.devices import DeviceService
from server.services.rate_limit import RateLimiter
from server.services.xero_connect import CallbackOutcome, XeroConnectService
from server.settings import Settings
from server.watermelon.adapter import WatermelonSync
from server.xero_link.access import XeroAccess

# Where a browser coming back from Xero's consent page lands: the console's page (the admin API
# serves JSON otherwise). A callback because the API and the console never import each other.
BrowserLanding = Callable[[CallbackOutcome | LedgersyncError], Redirect]

STATE_KEY = "services"


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    database: Database
    secrets: SecretBox
    admins: AdminService
    devices: DeviceService
    device_rate_limiter: RateLimiter
    pairing_rate_limiter: RateLimiter
    pulls: PullService
    pushes: PushService
    watermelon: WatermelonSync
    upload_statuses: UploadStatusService
    xero: XeroAccess
    xero_connect: XeroConnectService
    xero_browser_landing: BrowserLanding
    sync: SyncService
    scheduler: MirrorScheduler
    forwarding: ForwardingWorkers
    forwarding_settings: ForwardingSettingsService
    outbox: OutboxAdmin
    conflicts: ConflictsService
    webhooks: WebhookInbox
    webhook_worker: WebhookWorker
    pokes: FeedPokes

    def state(self) -> State:
        """The app state that carries this container."""
        return State({STATE_KEY: self})


def services_of(state: State) -> Services:
    """The container ``create_app`` put in the app's state."""
    found = state[STATE_KEY]
    if not isinstance(found, Services):
        raise TypeError(f"the app state's {STATE_KEY!r} is not a Services container")
    return found


def services_at(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    """For guards and hooks, which see the connection rather than the state."""
    return services_of(connection.app.state)
