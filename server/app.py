"""The composition root: ``create_app(settings)`` builds every part and wires them together."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import uvicorn
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from openapi_ui_bundles import swagger_ui

from mobile_api.changes import ChangesController
from mobile_api.compression import COMPRESSED_BY_HANDLER
from mobile_api.mutations import MutationsController
from mobile_api.pairing import PairingController
from mobile_api.pokes import PokesController
from mobile_api.watermelon import WatermelonController
from server.admin.api.conflicts import ConflictsController
from server.admin.api.devices import DevicesController
from server.admin.api.forwarding import ForwardingController
from server.admin.api.session import SessionController
from server.admin.api.sync import SyncController
from server.admin.api.xero import XeroAdminController, XeroCallbackController
from server.admin.console import app_exception_handlers, console_routes, csrf_middleware, template_config
from server.admin.console.connection import browser_callback
from server.core.crypto import SecretBox, SecretKeyError
from server.core.pokes import FeedPokes
from server.core.pull import PullService
from server.core.push import PushService
from server.core.uploads import UploadStatusService
from server.db.database import Database
from server.db.engine import async_url
from server.forwarding.conflicts import ConflictsService
from server.forwarding.forwarder import Forwarder, ForwardingPolicy
from server.forwarding.outbox_admin import OutboxAdmin
from server.forwarding.settings import ForwardingSettingsService
from server.forwarding.worker import ForwardingWorkers
from server.http.health import HealthController
from server.http.input_guard import guard_request
from server.http.openapi import complete as complete_openapi
from server.http.services import Services
from server.http.xero_webhooks import xero_webhooks
from server.kinds import KINDS
from server.logs import configure_logging
from server.mirror.budget import Policy
from server.mirror.pull_queue import PullWorkers
from server.mirror.scheduler import MirrorScheduler
from server.mirror.service import SyncService
from server.mirror.webhooks import WebhookInbox, WebhookWorker
from server.services.admins import AdminService
from server.services.devices import DeviceService
from server.services.rate_limit import RateLimiter
from server.services.xero_connect import XeroConnectService
from server.settings import Settings
from server.watermelon.adapter import WatermelonSync
from server.xero_link.access import XeroAccess
from server.xero_link.shared_limits import PostgresLimits

SCHEMA_ASSETS = "/schema-assets"


def _version() -> str:
    try:
        return version("ledgersync")
    except PackageNotFoundError:
        return "0.1.0"


def secret_box_for(settings: Settings) -> SecretBox:
    """The key for secrets at rest and the console's CSRF tokens: ``LEDGERSYNC_SECRET_KEY``, always.

    There is no fallback key file: a missing key is a start-up error (the demo makes its own key beside
    its database, ``server/demo.py``), so no deployment silently depends on a file anyone could read.
    """
    if not settings.secret_key.strip():
        raise SecretKeyError(
            "LEDGERSYNC_SECRET_KEY is not set: generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'` and keep it secret "
            "(./dev demo makes its own)"
        )
    return SecretBox.from_text(settings.secret_key)


def openapi_config() -> OpenAPIConfig:
    # Swagger UI 5 (4.x cannot read the OpenAPI 3.1 Litestar emits) from the openapi-ui-bundles
    # package, served here: no CDN, so /schema works offline.
    return OpenAPIConfig(
        title="ledgersync",
        version=_version(),
        description="Sync server between field invoicing phones and Xero. See docs/protocol.md.",
        path="/schema",
        render_plugins=[
            SwaggerRenderPlugin(
                path="/",
                js_url=f"{SCHEMA_ASSETS}/swagger-ui-bundle.js",
                css_url=f"{SCHEMA_ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{SCHEMA_ASSETS}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{SCHEMA_ASSETS}/favicon-32x32.png'>",
            )
        ],
    )


def process_name() -> str:
    """Who holds leases and claims from this process: distinct per app instance, readable in the tables."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def xero_access(settings: Settings, database: Database, secrets: SecretBox) -> XeroAccess:
    """Xero clients for this process: on PostgreSQL their limits are counted with every other process's
    (``server/xero_link/shared_limits.py``); SQLite serves one process, which counts in memory."""
    shared = None
    if database.engine.dialect.name == "postgresql":
        shared = PostgresLimits(database, lease_seconds=settings.xero_call_lease_seconds)
    return XeroAccess(settings, database, secrets, shared=shared)


def forwarding_workers(
    settings: Settings, database: Database, xero: XeroAccess, holder: str
) -> ForwardingWorkers:
    """The forwarding workers this process runs (SQLite: at most one; its writers queue anyway)."""
    policy = ForwardingPolicy(
        batch_size=settings.forward_batch_size,
        claim_ttl=timedelta(seconds=settings.forward_claim_seconds),
        retry_base=settings.forward_retry_seconds,
    )
    count = settings.forwarding_workers
    if database.engine.dialect.name == "sqlite":
        count = min(count, 1)
    forwarders = [
        Forwarder(database, xero, settings.base_url, f"{holder}:forward-{n}", policy) for n in range(count)
    ]
    return ForwardingWorkers(database, forwarders, settings.forward_poll_seconds)


def create_app(settings: Settings) -> Litestar:
    configure_logging(settings.log_level)
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    secrets = secret_box_for(settings)
    xero = xero_access(settings, database, secrets)
    holder = process_name()
    sync = SyncService(database, xero, holder, timedelta(seconds=settings.sync_lease_seconds))
    scheduler = MirrorScheduler(
        database,
        sync,
        timedelta(minutes=settings.sync_interval_minutes),
        retention=timedelta(days=settings.tombstone_retention_days),
        purge_seconds=settings.tombstone_purge_seconds,
        policy=Policy(
            interval=timedelta(minutes=settings.sync_interval_minutes),
            webhooks=bool(settings.xero_webhook_key),
            reserve=settings.xero_daily_reserve,
            floor=timedelta(minutes=settings.sync_interval_floor_minutes),
        ),
        pulls=PullWorkers(database, sync, settings.pulls_per_process, settings.pull_poll_seconds),
    )
    forwarding = forwarding_workers(settings, database, xero, holder)
    pokes = FeedPokes(database)  # before anything commits to the feed: it hears every commit
    webhook_worker = WebhookWorker(database, sync, coalesce_seconds=settings.webhook_coalesce_seconds)

    async def pull_at_once(organisation_id: uuid.UUID, event: str) -> None:
        # Connected, reconnected or switched: pull now ("connected" -> trigger "connect").
        trigger = {"connected": "connect", "reconnected": "reconnect", "switched": "switch"}.get(event, event)
        await sync.pull_soon(organisation_id, trigger)

    pushes = PushService(database, KINDS, on_accepted=forwarding.wake)
    services = Services(
        settings=settings,
        database=database,
        secrets=secrets,
        admins=AdminService(database),
        devices=DeviceService(database),
        device_rate_limiter=RateLimiter(settings.device_requests_per_minute),
        pairing_rate_limiter=RateLimiter(
            settings.pairing_failures_per_minute, burst=settings.pairing_failures_per_minute
        ),
        pulls=PullService(database),
        pushes=pushes,
        watermelon=WatermelonSync(database, pushes),
        upload_statuses=UploadStatusService(database),
        xero=xero,
        xero_connect=XeroConnectService(
            settings, database, secrets, xero, on_connected=pull_at_once if settings.pull_on_connect else None
        ),
        xero_browser_landing=browser_callback,
        sync=sync,
        scheduler=scheduler,
        forwarding=forwarding,
        forwarding_settings=ForwardingSettingsService(database),
        outbox=OutboxAdmin(database),
        conflicts=ConflictsService(database, pushes),
        webhooks=WebhookInbox(database, settings.xero_webhook_key, on_recorded=webhook_worker.wake),
        webhook_worker=webhook_worker,
        pokes=pokes,
    )

    async def start() -> None:
        await database.migrate()
        await pokes.start()
        scheduler.start()
        forwarding.start()
        webhook_worker.start()

    async def stop() -> None:
        await webhook_worker.stop()
        await forwarding.stop()
        await scheduler.stop()
        await sync.close()
        await xero.close()
        await pokes.close()
        await database.close()

    app = Litestar(
        route_handlers=[
            HealthController,
            SessionController,
            DevicesController,
            PairingController,
            ChangesController,
            MutationsController,
            PokesController,
            WatermelonController,
            XeroAdminController,
            XeroCallbackController,
            SyncController,
            ForwardingController,
            ConflictsController,
            xero_webhooks,
            *console_routes(),
            create_static_files_router(
                path=SCHEMA_ASSETS,
                directories=[swagger_ui.static_path],
                include_in_schema=False,
            ),
        ],
        state=services.state(),
        on_startup=[start],
        on_shutdown=[stop],
        exception_handlers=app_exception_handlers(),
        before_request=guard_request,
        template_config=template_config(),
        middleware=[csrf_middleware(settings, secrets)],
        openapi_config=openapi_config(),
        # Level 1: JSON of records compresses well even at the fastest level. The pull route
        # compresses its own answers (zstd or gzip, mobile_api/compression.py) and opts out here.
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=1024, gzip_compress_level=1, exclude_opt_key=COMPRESSED_BY_HANDLER
        ),
        request_max_body_size=settings.max_request_body_bytes,
        logging_config=None,
        debug=False,
    )
    complete_openapi(app.openapi_schema)  # every answer described: server/http/openapi.py
    return app


def serve(settings: Settings, processes: int = 1) -> int:
    """Runs the app under uvicorn until it is stopped: in this process, or in ``processes`` worker
    processes sharing one listening socket (uvicorn's supervisor, which replaces a worker that dies).

    Several processes need PostgreSQL (``several_processes_refused``); migrations run here, once,
    before any worker starts, so no two workers race to apply them."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": 10,
        "timeout_keep_alive": settings.keep_alive_seconds,
    }
    if processes <= 1:
        uvicorn.run(create_app(settings), **options)
        return 0
    configure_logging(settings.log_level)
    asyncio.run(_migrate_once(settings))
    # The workers import the app by name (spawned, not forked) and read these settings, CLI flags
    # included, from the environment they inherit.
    os.environ.update(settings.handed_down())
    uvicorn.run("server.app:worker_app", factory=True, workers=processes, **options)
    return 0


def several_processes_refused(settings: Settings, processes: int) -> str | None:
    """Why ``processes`` server processes cannot share this database, or ``None`` when they can."""
    if processes > 1 and async_url(settings.database_url).get_backend_name() == "sqlite":
        return (
            f"--processes {processes} needs PostgreSQL: SQLite serialises every writer in one file and "
            "this server keeps per-process state SQLite cannot share (run one process, or set "
            "LEDGERSYNC_DATABASE_URL=postgresql://...; see docs/deployment.md)"
        )
    return None


def worker_app() -> Litestar:
    """One worker process's app (``serve(settings, processes=N)``), from the settings handed down."""
    return create_app(Settings.from_parent())


async def _migrate_once(settings: Settings) -> None:
    database = Database(settings.database_url, pool_size=1)
    try:
        await database.migrate()
    finally:
        await database.close()
