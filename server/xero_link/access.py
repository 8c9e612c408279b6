"""The one place that hands out Xero clients: shared HTTP pool, per-tenant limiters, token store.

Pulls and (next) forwarding both call ``client_for(organisation_id)``; the client they get shares
the tenant's limiter with every other client of that tenant in this process, and, through the
limiters' shared store (PostgreSQL), with every other process.
"""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from server.core.crypto import SecretBox
from server.db.database import Database
from server.db.mirror_models import XeroConnection
from server.settings import Settings
from server.xero.client import RetryPolicy, XeroClient, default_timeout
from server.xero.errors import NeedsReconnect
from server.xero.oauth import Identity, XeroApp, scopes
from server.xero.rate_limit import Limiters, LimitPolicy, SharedLimits
from server.xero_link.tokens import CONNECTED, TokenStore


def xero_app(settings: Settings) -> XeroApp:
    """The Xero app as the settings configure it."""
    return XeroApp(
        client_id=settings.xero_client_id,
        client_secret=settings.xero_client_secret,
        redirect_url=settings.xero_redirect_url or f"{settings.base_url}/admin/xero/callback",
        scopes=scopes(settings.xero_granular_scopes),
        login_url=settings.xero_login_url,
        identity_url=settings.xero_identity_url,
        api_url=settings.xero_api_url,
    )


class XeroAccess:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        secrets: SecretBox,
        limits: LimitPolicy | None = None,
        retry: RetryPolicy = RetryPolicy(),
        shared: SharedLimits | None = None,
    ) -> None:
        """``shared``: where every process counts each tenant's calls (None: this process alone)."""
        self.settings = settings
        self._db = database
        self.http = httpx.AsyncClient(timeout=default_timeout(), follow_redirects=False)
        self.identity = Identity(xero_app(settings), self.http)
        self.limiters = Limiters(
            limits
            or LimitPolicy(daily_reserve=settings.xero_daily_reserve, minute=settings.xero_minute_seconds),
            shared,
        )
        self.tokens = TokenStore(database, secrets, self.identity)
        self.retry = retry

    async def client_for(self, organisation_id: uuid.UUID, forwarding: bool = False) -> XeroClient:
        """A client for the organisation's tenant; NeedsReconnect when there is none usable.

        ``forwarding`` clients may spend the daily reserve the mirror leaves untouched.
        """
        async with self._db.sessions() as session:
            row = await session.scalar(
                select(XeroConnection).where(XeroConnection.organisation_id == organisation_id)
            )
        if row is None:
            raise NeedsReconnect("this organisation is not connected to Xero")
        if row.status != CONNECTED:
            raise NeedsReconnect(f"the Xero connection needs a reconnect: {row.status_reason}")
        return XeroClient(
            self.http,
            self.settings.xero_api_url,
            row.tenant_id,
            self.tokens.source(organisation_id, row),  # the row read once: its token serves the first call
            self.limiters.for_tenant(row.tenant_id),
            self.retry,
            use_reserve=forwarding,
        )

    async def close(self) -> None:
        await self.http.aclose()
