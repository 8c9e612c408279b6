"""Xero tokens at rest and their refresh: encrypted per row, refreshed once at a time everywhere.

Xero's refresh tokens rotate: using one returns a new pair and spends the old one (after a grace
period). Two refreshers racing with the same token would, past the grace period, lose the
connection. So a refresh is single-flight per connection:

- across coroutines of this process, an ``asyncio.Lock`` per organisation;
- across processes, the connection row is locked for the refresh (``SELECT … FOR UPDATE`` on
  PostgreSQL; SQLite's write lock, which every transaction takes at BEGIN IMMEDIATE).

Under the lock the refresher compares ``token_version`` with the version its stale token had; if
someone refreshed meanwhile, it takes their token instead of refreshing again. A refresh whose
answer was lost (timeout, 5xx) is retried with the same old refresh token: inside Xero's grace
period that returns the pair the first attempt created. ``invalid_grant`` marks the connection
*needs reconnect* and is committed before the error propagates.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from server.core.crypto import SecretBox
from server.core.sync_log import event_entry
from server.db.database import Database
from server.db.mirror_models import SyncRun, XeroConnection
from server.db.types import utcnow
from server.xero import oauth, wire
from server.xero.client import AccessToken
from server.xero.errors import NeedsReconnect, ServerError, TransportError
from server.xero.oauth import Identity

log = logging.getLogger("ledgersync.xero.tokens")

CONNECTED = "connected"
NEEDS_RECONNECT = "needs_reconnect"
_REFRESH_ATTEMPTS = 3


def use_until(now: datetime, expires_in: int) -> datetime:
    """When to stop using an access token: a minute (or a fifth of its life) before it expires."""
    margin = min(60.0, expires_in / 5)
    return now + timedelta(seconds=max(0.0, expires_in - margin))


@dataclass(frozen=True)
class ConnectionInfo:
    organisation_id: uuid.UUID
    tenant_id: str
    tenant_name: str
    status: str
    status_reason: str
    connected_at: datetime


class TokenStore:
    def __init__(self, database: Database, secrets: SecretBox, identity: Identity) -> None:
        self._db = database
        self._secrets = secrets
        self._identity = identity
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        self.refreshes = 0  # refreshes this process performed (observability, tests)

    def source(self, organisation_id: uuid.UUID, row: XeroConnection | None = None) -> OrganisationTokens:
        """The organisation's tokens for one client. ``row``: its connection as the caller just read
        it, whose access token the client's first request then uses without reading it again."""
        if row is None:
            return OrganisationTokens(self, organisation_id)
        first = AccessToken(self.decrypt(row.id, row.access_token), row.token_version)
        return OrganisationTokens(self, organisation_id, first, row.access_expires_at)

    def encrypt(self, connection_id: uuid.UUID, token: str) -> bytes:
        return self._secrets.encrypt(token, associated=str(connection_id))

    def decrypt(self, connection_id: uuid.UUID, blob: bytes) -> str:
        return self._secrets.decrypt(blob, associated=str(connection_id))

    def store(self, row: XeroConnection, tokens: wire.TokenResponse) -> None:
        """Put a fresh token response on ``row`` (inside the caller's transaction)."""
        if tokens.refresh_token is None:
            raise NeedsReconnect("Xero issued no refresh token: offline_access was not granted")
        now = utcnow()
        row.access_token = self.encrypt(row.id, tokens.access_token)
        row.refresh_token = self.encrypt(row.id, tokens.refresh_token)
        row.access_expires_at = use_until(now, tokens.expires_in)
        row.scopes = tokens.scope
        row.xero_user_id = oauth.xero_user_id(tokens.access_token) or row.xero_user_id or ""
        row.updated_at = now

    async def info(self, organisation_id: uuid.UUID) -> ConnectionInfo | None:
        async with self._db.sessions() as session:
            row = await session.scalar(
                select(XeroConnection).where(XeroConnection.organisation_id == organisation_id)
            )
            if row is None:
                return None
            return ConnectionInfo(
                organisation_id,
                row.tenant_id,
                row.tenant_name,
                row.status,
                row.status_reason,
                row.connected_at,
            )

    async def current(self, organisation_id: uuid.UUID) -> AccessToken:
        async with self._db.sessions() as session:
            row = await session.scalar(
                select(XeroConnection).where(XeroConnection.organisation_id == organisation_id)
            )
            if row is None:
                raise NeedsReconnect("this organisation is not connected to Xero")
            if row.status != CONNECTED:
                raise NeedsReconnect(f"the Xero connection needs a reconnect: {row.status_reason}")
            token = AccessToken(self.decrypt(row.id, row.access_token), row.token_version)
            fresh = row.access_expires_at > utcnow()
        return token if fresh else await self.refreshed(organisation_id, token)

    async def refreshed(self, organisation_id: uuid.UUID, stale: AccessToken) -> AccessToken:
        lock = self._locks.setdefault(organisation_id, asyncio.Lock())
        async with lock:
            lost: NeedsReconnect | None = None
            async with self._db.transaction() as session:
                row = await session.scalar(
                    select(XeroConnection)
                    .where(XeroConnection.organisation_id == organisation_id)
                    .with_for_update()
                )
                if row is None:
                    raise NeedsReconnect("this organisation is not connected to Xero")
                if row.status != CONNECTED:
                    raise NeedsReconnect(f"the Xero connection needs a reconnect: {row.status_reason}")
                if row.token_version != stale.version:
                    # Someone refreshed while we waited for the lock: theirs is the current token.
                    return AccessToken(self.decrypt(row.id, row.access_token), row.token_version)
                try:
                    tokens = await self._refresh(self.decrypt(row.id, row.refresh_token))
                except NeedsReconnect as exc:
                    row.status, row.status_reason = NEEDS_RECONNECT, exc.message
                    row.updated_at = utcnow()
                    session.add(_needs_reconnect_entry(organisation_id, exc.message))
                    lost = exc
                else:
                    self.store(row, tokens)
                    row.token_version += 1
                    self.refreshes += 1
                    result = AccessToken(tokens.access_token, row.token_version)
            if lost is not None:
                log.warning("xero connection lost", extra={"organisation_id": str(organisation_id)})
                raise lost
            return result

    async def _refresh(self, refresh_token: str) -> wire.TokenResponse:
        for attempt in range(1, _REFRESH_ATTEMPTS + 1):
            try:
                return await self._identity.refresh(refresh_token)
            except (TransportError, ServerError):
                # The answer may be lost after Xero rotated: the same old token, inside the grace
                # period, gets the same new pair.
                if attempt == _REFRESH_ATTEMPTS:
                    raise
                await asyncio.sleep(0.2 * attempt)
        raise AssertionError("unreachable")

    async def mark_lost(self, organisation_id: uuid.UUID, reason: str) -> None:
        async with self._db.transaction() as session:
            was = await session.scalar(
                select(XeroConnection.status)
                .where(XeroConnection.organisation_id == organisation_id)
                .with_for_update()
            )
            await session.execute(
                update(XeroConnection)
                .where(XeroConnection.organisation_id == organisation_id)
                .values(status=NEEDS_RECONNECT, status_reason=reason[:500], updated_at=utcnow())
            )
            # Logged once, when the connection is lost; not again for every call that finds it so.
            if was == CONNECTED:
                session.add(_needs_reconnect_entry(organisation_id, reason))


def _needs_reconnect_entry(organisation_id: uuid.UUID, reason: str) -> SyncRun:
    return event_entry(
        organisation_id,
        "needs_reconnect",
        f"Xero needs reconnecting ({reason[:300]}); syncing is paused until then.",
        trigger="xero",
    )


class OrganisationTokens:
    """The ``TokenSource`` of one organisation's Xero client."""

    def __init__(
        self,
        store: TokenStore,
        organisation_id: uuid.UUID,
        first: AccessToken | None = None,
        first_expires_at: datetime | None = None,
    ) -> None:
        self._store = store
        self._organisation_id = organisation_id
        self._first = first
        self._first_expires_at = first_expires_at

    async def current(self) -> AccessToken:
        first, self._first = self._first, None
        if first is not None and self._first_expires_at is not None:
            if self._first_expires_at > utcnow():
                return first
            return await self._store.refreshed(self._organisation_id, first)
        return await self._store.current(self._organisation_id)

    async def refreshed(self, stale: AccessToken) -> AccessToken:
        return await self._store.refreshed(self._organisation_id, stale)

    async def lost(self, reason: str) -> None:
        await self._store.mark_lost(self._organisation_id, reason)
