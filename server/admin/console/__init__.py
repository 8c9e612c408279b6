"""The admin console: server-rendered pages (Jinja) over the same services as the admin JSON API.

No build step and nothing from a CDN: templates and a small script (``static/console.js``, which
only enhances pages that work without it) live here. See docs/admin-console.md.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import File
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import ControllerRouterHandler

from server.admin.console.conflicts import ConflictsPageController
from server.admin.console.connection import ConnectionController
from server.admin.console.csrf import AdminCsrfMiddleware, csrf_config
from server.admin.console.devices import DevicesController
from server.admin.console.errors import EXCEPTION_HANDLERS, app_exception_handlers
from server.admin.console.home import home, load_connection
from server.admin.console.rendering import ago
from server.admin.console.settings_page import SettingsController, setting_label
from server.admin.console.sign_in import SignInController
from server.admin.console.sync import SyncController, kind_label, label, what
from server.admin.console.sync_log import SyncLogController
from server.admin.console.uploads import BacklinksController, UploadsController
from server.core.crypto import SecretBox
from server.settings import Settings

HERE = Path(__file__).parent
STATIC_PATH = "/admin/static"

__all__ = ["app_exception_handlers", "console_routes", "csrf_middleware", "template_config"]


def _template_helpers(engine: JinjaTemplateEngine) -> None:
    engine.engine.globals.update(
        what=what, kind_label=kind_label, label=label, setting_label=setting_label, ago=ago
    )


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(
        directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_template_helpers
    )


def csrf_middleware(settings: Settings, secrets: SecretBox) -> DefineMiddleware:
    config: CSRFConfig = csrf_config(settings, secrets)
    return DefineMiddleware(AdminCsrfMiddleware, config=config)


@get("/favicon.ico", include_in_schema=False, cache_control=CacheControlHeader(max_age=86400))
async def favicon() -> File:
    # Browsers ask every site for /favicon.ico; without it each page load logs a 404.
    return File(HERE / "static" / "favicon.ico", media_type="image/x-icon", content_disposition_type="inline")


def console_routes() -> list[ControllerRouterHandler]:
    pages = Router(
        path="/",
        route_handlers=[
            home,
            SignInController,
            ConnectionController,
            SettingsController,
            SyncController,
            SyncLogController,
            UploadsController,
            ConflictsPageController,
            BacklinksController,
            DevicesController,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=load_connection,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path=STATIC_PATH, directories=[HERE / "static"], include_in_schema=False
    )
    return [pages, static, favicon]
