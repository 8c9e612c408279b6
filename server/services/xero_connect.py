"""Connecting an organisation to Xero: the authorization-code flow with PKCE and a checked state,
choosing the tenant, disconnecting.

The pending flow lives in ``xero_oauth_states`` (state → organisation, PKCE verifier encrypted,
15 minutes to live, one use): the callback needs no session, the unguessable state is the proof
that an admin of that organisation started it. Several tenants approved at once park the token
response (encrypted) on the state row until the admin picks one.

One Xero user (an accountant, a bookkeeper) may connect several ledgersync organisations, even to
one tenant. So only the tenants *this* consent approved are offered (``authEventId``), and nothing
another organisation uses is touched: tenants left unchosen stay connected at Xero, and a
disconnect deletes only this organisation's own connection, revoking the grant only when no other
organisation is connected through the same Xero user (revoking removes all of that user's
connections to the app).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import msgspec
from sqlalchemy import delete, or_, select

from server.core import feed
from server.core.crypto import SecretBox
from server.core.errors import InvalidInput, NotFound, Unavailable
from server.core.fate import strand_uploads
from server.core.mirror_store import forget_mirror
from server.core.sync_log import event_entry
from server.db.database import Database
from server.db.mirror_models import MirrorRecord, XeroConnection, XeroOAuthState
from server.db.types import utcnow
from server.settings import Settings
from server.xero import oauth, wire
from server.xero.errors import NeedsReconnect, XeroError
from server.xero_link.access import XeroAccess, xero_app
from server.xero_link.tokens import CONNECTED, ConnectionInfo
from sync_protocol.errors import ErrorCode

log = logging.getLogger("ledgersync.xero.connect")

STATE_LIFETIME = timedelta(minutes=15)
OnConnected = Callable[[uuid.UUID, str], Awaitable[None]]


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str


@dataclass(frozen=True)
class CallbackOutcome:
    status: str  # connected | choose_tenant
    state: str | None = None
    tenant: Tenant | None = None
    tenants: list[Tenant] = field(default_factory=list)


class XeroConnectService:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        secrets_box: SecretBox,
        access: XeroAccess,
        on_connected: OnConnected | None = None,
    ) -> None:
        # Called after a connect, reconnect or switch commits (with the event's name): the app
        # starts a pull of the tenant there, so phones need not wait for the scheduler's next tick.
        self._on_connected = on_connected
        self._settings = settings
        self._db = database
        self._box = secrets_box
        self._access = access

    async def start(self, organisation_id: uuid.UUID) -> str:
        """The URL of Xero's consent page for this organisation's admin."""
        if not self._settings.xero_client_id:
            raise Unavailable(
                "no Xero app is configured (LEDGERSYNC_XERO_CLIENT_ID)", code=ErrorCode.XERO_NOT_CONFIGURED
            )
        pkce = oauth.Pkce.new()
        state = secrets.token_urlsafe(32)
        now = utcnow()
        async with self._db.transaction() as session:
            await session.execute(delete(XeroOAuthState).where(XeroOAuthState.expires_at < now))
            session.add(
                XeroOAuthState(
                    state=state,
                    organisation_id=organisation_id,
                    code_verifier=self._box.encrypt(pkce.verifier, associated=f"oauth:{state}"),
                    expires_at=now + STATE_LIFETIME,
                )
            )
        return oauth.authorize_url(xero_app(self._settings), state, pkce)

    async def callback(self, state: str | None, code: str | None, error: str | None) -> CallbackOutcome:
        pending = await self._pending(state)
        if pending.tokens is not None:  # a tenant-choice state: it goes to choose_tenant, not here
            raise InvalidInput(
                "unknown or expired Xero connect state", code=ErrorCode.OAUTH_STATE_INVALID, field="state"
            )
        if error or not code:
            await self._forget(pending.state)
            raise InvalidInput(
                f"Xero did not grant access: {error or 'no code'}", code=ErrorCode.XERO_ACCESS_DENIED
            )
        verifier = self._box.decrypt(pending.code_verifier, associated=f"oauth:{pending.state}")
        await self._forget(pending.state)  # one use, whatever happens next
        try:
            tokens = await self._access.identity.exchange_code(code, verifier)
            connections = await self._granted(tokens.access_token)
        except XeroError as exc:
            raise Unavailable(
                f"Xero refused the connection: {exc.message}", code=ErrorCode.XERO_CONNECT_FAILED
            ) from exc
        if not connections:
            raise InvalidInput(
                "no Xero organisation was chosen on the consent page", code=ErrorCode.XERO_NO_TENANT
            )
        if len(connections) == 1:
            tenant = await self._bind(pending.organisation_id, connections[0], tokens)
            return CallbackOutcome("connected", tenant=tenant)
        choice = secrets.token_urlsafe(32)
        async with self._db.transaction() as session:
            session.add(
                XeroOAuthState(
                    state=choice,
                    organisation_id=pending.organisation_id,
                    code_verifier=b"",
                    tokens=self._box.encrypt(wire.encode(tokens).decode(), associated=f"oauth:{choice}"),
                    tenants=[msgspec.to_builtins(c) for c in connections],
                    expires_at=utcnow() + STATE_LIFETIME,
                )
            )
        return CallbackOutcome(
            "choose_tenant",
            state=choice,
            tenants=[Tenant(c.tenant_id, c.tenant_name or "") for c in connections],
        )

    async def choose_tenant(self, organisation_id: uuid.UUID, state: str, tenant_id: str) -> Tenant:
        pending = await self._pending(state)
        if pending.organisation_id != organisation_id or pending.tokens is None:
            raise InvalidInput(
                "unknown or expired Xero connect state", code=ErrorCode.OAUTH_STATE_INVALID, field="state"
            )
        connections = msgspec.convert(pending.tenants or [], list[wire.Connection])
        chosen = next((c for c in connections if c.tenant_id.lower() == tenant_id.lower()), None)
        if chosen is None:
            raise InvalidInput("that tenant was not among those approved", field="tenant_id")
        tokens = wire.decode(
            self._box.decrypt(pending.tokens, associated=f"oauth:{pending.state}").encode(),
            wire.TokenResponse,
        )
        await self._forget(pending.state)
        return await self._bind(organisation_id, chosen, tokens)

    async def pending_tenants(self, organisation_id: uuid.UUID, state: str) -> list[Tenant]:
        """The tenants approved in a connect flow that waits for the admin to choose one."""
        pending = await self._pending(state)
        if pending.organisation_id != organisation_id or pending.tokens is None:
            raise InvalidInput(
                "unknown or expired Xero connect state", code=ErrorCode.OAUTH_STATE_INVALID, field="state"
            )
        connections = msgspec.convert(pending.tenants or [], list[wire.Connection])
        return [Tenant(c.tenant_id, c.tenant_name or "") for c in connections]

    async def _granted(self, access_token: str) -> list[wire.Connection]:
        """The organisations (tenants) the consent behind ``access_token`` approved, and no others."""
        event = oauth.auth_event_id(access_token)
        if event is None:
            log.warning("xero access token carries no authentication_event_id: listing every connection")
        listed = await self._access.identity.connections(access_token, event)
        return [
            c
            for c in listed
            if c.tenant_type == "ORGANISATION"
            and (event is None or c.auth_event_id is None or c.auth_event_id.lower() == event.lower())
        ]

    async def _pending(self, state: str | None) -> XeroOAuthState:
        async with self._db.sessions() as session:
            row = await session.get(XeroOAuthState, state or "")
        if row is None or row.expires_at < utcnow():
            raise InvalidInput(
                "unknown or expired Xero connect state", code=ErrorCode.OAUTH_STATE_INVALID, field="state"
            )
        return row

    async def _forget(self, state: str) -> None:
        async with self._db.transaction() as session:
            await session.execute(delete(XeroOAuthState).where(XeroOAuthState.state == state))

    async def _bind(
        self, organisation_id: uuid.UUID, connection: wire.Connection, tokens: wire.TokenResponse
    ) -> Tenant:
        """Connect the organisation to the chosen tenant. Nothing at Xero changes: the tenants this
        consent approved but the admin did not choose may be another organisation's.

        Another tenant than the one mirrored (or connected) before is a switch: the old mirror is
        forgotten, phones' cursors from before get ``resync_required`` (the feed's horizon rises to
        the latest version), and uploads not yet in the old organisation fail saying so instead of
        going to the new one. A pull of the new tenant starts at once (``on_connected``).
        """
        tenant_id = connection.tenant_id.lower()
        name = connection.tenant_name or ""
        async with self._db.transaction() as session:
            before = await session.scalar(
                select(XeroConnection).where(XeroConnection.organisation_id == organisation_id)
            )
            previous = (before.tenant_id, before.tenant_name) if before is not None else None
            stale = await session.scalar(
                select(MirrorRecord.tenant_id)
                .where(MirrorRecord.organisation_id == organisation_id, MirrorRecord.tenant_id != tenant_id)
                .limit(1)
            )
            switched = stale is not None or (previous is not None and previous[0] != tenant_id)
            if switched:
                old_name = previous[1] if previous is not None and previous[0] != tenant_id else ""
                await forget_mirror(session, organisation_id)
                await strand_uploads(
                    session, organisation_id, old_name or "the previous Xero organisation", name
                )
                await feed.reset_horizon(session, organisation_id)
            row = await session.scalar(
                select(XeroConnection)
                .where(XeroConnection.organisation_id == organisation_id)
                .with_for_update()
            )
            if row is None:
                row = XeroConnection(id=uuid.uuid4(), organisation_id=organisation_id, token_version=0)
                session.add(row)
            row.tenant_id = tenant_id
            row.tenant_name = name
            row.xero_connection_id = connection.id.lower()
            row.status, row.status_reason = CONNECTED, ""
            row.token_version = (row.token_version or 0) + 1
            row.connected_at = utcnow()
            try:
                self._access.tokens.store(row, tokens)
            except NeedsReconnect as exc:
                raise InvalidInput(exc.message, code=ErrorCode.XERO_NO_OFFLINE_ACCESS) from exc
            event = "switched" if switched else ("reconnected" if previous is not None else "connected")
            summary = {
                "connected": f"Connected to the Xero organisation {name}.",
                "reconnected": f"Reconnected to the Xero organisation {name}.",
                "switched": f"Switched to the Xero organisation {name}: phones download everything again; "
                "uploads not yet in the previous organisation were not sent to this one.",
            }[event]
            session.add(event_entry(organisation_id, event, summary, details={"tenant_id": tenant_id}))
        if self._on_connected is not None:
            await self._on_connected(organisation_id, event)
        return Tenant(tenant_id, name)

    async def disconnect(self, organisation_id: uuid.UUID, actor: str = "") -> None:
        """Forget the tokens here; at Xero, remove what only this organisation uses.

        The connection (one per Xero user and tenant) is deleted unless another organisation uses
        the same one; the grant is revoked unless another organisation is connected through the
        same Xero user, since revoking removes all of that user's connections to the app. The
        mirror stays: phones keep their data; reconnecting resumes pulls from where they were.
        """
        async with self._db.sessions() as session:
            row = await session.scalar(
                select(XeroConnection).where(XeroConnection.organisation_id == organisation_id)
            )
            if row is None:
                raise NotFound(
                    "this organisation is not connected to Xero", code=ErrorCode.XERO_NOT_CONNECTED
                )
            tokens = self._access.tokens
            access_token = tokens.decrypt(row.id, row.access_token)
            user = row.xero_user_id or oauth.xero_user_id(access_token)
            others = list(
                await session.scalars(
                    select(XeroConnection).where(
                        XeroConnection.organisation_id != organisation_id,
                        or_(
                            XeroConnection.xero_connection_id == row.xero_connection_id,
                            XeroConnection.xero_user_id == user,
                            XeroConnection.xero_user_id == "",
                        ),
                    )
                )
            )
            shares_connection = any(o.xero_connection_id == row.xero_connection_id for o in others)
            shares_user = shares_connection or any(
                (o.xero_user_id or oauth.xero_user_id(tokens.decrypt(o.id, o.access_token))) == user
                for o in others
            )
            refresh_token = tokens.decrypt(row.id, row.refresh_token)
            tenant_name = row.tenant_name
        # A grant Xero no longer knows is as revoked as it gets; revoking may have removed the
        # connection already.
        if not shares_user:
            with contextlib.suppress(XeroError):
                await self._access.identity.revoke(refresh_token)
        if not shares_connection and row.xero_connection_id:
            with contextlib.suppress(XeroError):
                await self._access.identity.delete_connection(access_token, row.xero_connection_id)
        async with self._db.transaction() as session:
            await session.execute(
                delete(XeroConnection).where(XeroConnection.organisation_id == organisation_id)
            )
            session.add(
                event_entry(
                    organisation_id,
                    "disconnected",
                    f"Disconnected from the Xero organisation {tenant_name}; phones keep their data.",
                    actor=actor,
                )
            )

    async def info(self, organisation_id: uuid.UUID) -> ConnectionInfo | None:
        return await self._access.tokens.info(organisation_id)
