"""The home page (``/admin``): is everything flowing, and what needs the admin; and the site-wide
banner every signed-in page shows while the Xero connection needs reconnecting."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State

from server.admin.console.rendering import page
from server.admin.console.sync import label
from server.http.admin_auth import require_admin
from server.http.services import Services, services_of
from server.services.admins import AdminPrincipal
from server.services.overview import OverviewService

# The outbox filters the home page counts, each a link to the filtered Uploads list.
UPLOAD_TILES = (
    ("failed", "Failed", "Xero (or ledgersync) could not take them: each says why."),
    ("held", "Held", "Kept on the server by your settings."),
    ("waiting", "Waiting", "Behind an earlier upload that has not reached Xero yet."),
    ("rejected", "Rejected at upload", "Refused when the phone sent them; the phone was told why."),
)


def overview_service(services: Services) -> OverviewService:
    return OverviewService(
        services.database, services.xero, services.outbox, services.devices, services.forwarding_settings
    )


async def load_connection(request: Request[Any, Any, State]) -> None:
    """Before every console page: the connection's state, for the site-wide reconnect banner.

    Runs after the guards, so only signed-in pages pay for the read.
    """
    admin: AdminPrincipal | None = getattr(request.state, "admin", None)
    if admin is None:
        return
    info = await services_of(request.app.state).xero_connect.info(admin.organisation_id)
    request.state.connection = info


@get("/admin", include_in_schema=False, guards=[require_admin])
async def home(request: Request[Any, Any, State], state: State) -> Response[Any]:
    admin: AdminPrincipal = request.state.admin
    overview = await overview_service(services_of(state)).overview(admin.organisation_id)
    by_type = (overview.last_pull.details.get("by_type") or {}) if overview.last_pull else {}
    return page(
        request,
        "home.html",
        title="Home",
        active="home",
        overview=overview,
        by_type=[(label(name), counts) for name, counts in by_type.items()],
        upload_tiles=UPLOAD_TILES,
    )
