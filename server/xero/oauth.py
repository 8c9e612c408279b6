"""Xero's OAuth 2.0 identity endpoints: authorize URL with PKCE, code exchange, refresh, revoke, connections.

Stateless HTTP calls; where tokens are kept and who may refresh them is ``server.xero_link.tokens``.
Token values never reach a log line or an exception message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import msgspec

from server.xero import wire
from server.xero.errors import AuthError, NeedsReconnect, ServerError, TransportError, XeroError

# Exactly what ledgersync calls (docs/xero.md, "Scopes"): refresh tokens (offline_access); reading tax
# rates, accounts, the organisation and items (accounting.settings.read); reading and writing contacts,
# invoices and payments. No openid/profile/email: ledgersync never reads an id token.
# Granular scopes: the only ones Xero lets apps created on or after 2 March 2026 ask for.
GRANULAR_SCOPES = (
    "offline_access accounting.settings.read accounting.contacts accounting.invoices accounting.payments"
)
# The broad set, for apps created before March 2026 (LEDGERSYNC_XERO_GRANULAR_SCOPES=false).
CLASSIC_SCOPES = "offline_access accounting.settings.read accounting.contacts accounting.transactions"


def scopes(granular: bool) -> str:
    return GRANULAR_SCOPES if granular else CLASSIC_SCOPES


@dataclass(frozen=True)
class XeroApp:
    """The Xero app ledgersync signs in as, and where Xero's endpoints are (the sandbox's in tests)."""

    client_id: str
    client_secret: str
    redirect_url: str
    scopes: str
    login_url: str
    identity_url: str
    api_url: str


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(64)  # 86 characters, inside RFC 7636's 43..128
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def authorize_url(app: XeroApp, state: str, pkce: Pkce) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": app.redirect_url,
            "scope": app.scopes,
            "state": state,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{app.login_url.rstrip('/')}/identity/connect/authorize?{query}"


class Identity:
    """Calls to identity.xero.com (token, revocation) and api.xero.com/connections."""

    def __init__(self, app: XeroApp, http: httpx.AsyncClient) -> None:
        self._app = app
        self._http = http

    @property
    def _auth(self) -> tuple[str, str] | None:
        if self._app.client_secret:
            return (self._app.client_id, self._app.client_secret)
        return None

    async def _token_call(self, form: dict[str, str]) -> wire.TokenResponse:
        url = f"{self._app.identity_url.rstrip('/')}/connect/token"
        if self._auth is None:
            form = {**form, "client_id": self._app.client_id}
        try:
            response = await self._http.post(url, data=form, auth=self._auth or httpx.USE_CLIENT_DEFAULT)
        except httpx.HTTPError as exc:
            raise TransportError(f"Xero's token endpoint did not answer: {type(exc).__name__}") from exc
        if response.status_code == 200:
            return wire.decode(response.content, wire.TokenResponse)
        raise _oauth_error(response)

    async def exchange_code(self, code: str, verifier: str) -> wire.TokenResponse:
        return await self._token_call(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self._app.redirect_url,
                "code_verifier": verifier,
            }
        )

    async def refresh(self, refresh_token: str) -> wire.TokenResponse:
        return await self._token_call({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def revoke(self, refresh_token: str) -> None:
        url = f"{self._app.identity_url.rstrip('/')}/connect/revocation"
        form = {"token": refresh_token}
        if self._auth is None:
            form["client_id"] = self._app.client_id
        try:
            response = await self._http.post(url, data=form, auth=self._auth or httpx.USE_CLIENT_DEFAULT)
        except httpx.HTTPError as exc:
            raise TransportError(f"Xero's revocation endpoint did not answer: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise _oauth_error(response)

    async def connections(self, access_token: str, auth_event_id: str | None = None) -> list[wire.Connection]:
        """The user's connections to this app; with ``auth_event_id``, only those that consent made.

        Xero lists every tenant the Xero user ever connected to the app - including tenants other
        ledgersync organisations use when one person (an accountant) runs several of them.
        """
        path = "/connections" if not auth_event_id else f"/connections?authEventId={quote(auth_event_id)}"
        response = await self._api("GET", path, access_token)
        return wire.decode(response.content, list[wire.Connection])

    async def delete_connection(self, access_token: str, connection_id: str) -> None:
        await self._api("DELETE", f"/connections/{connection_id}", access_token, missing_ok=True)

    async def _api(
        self, method: str, path: str, access_token: str, missing_ok: bool = False
    ) -> httpx.Response:
        url = f"{self._app.api_url.rstrip('/')}{path}"
        try:
            response = await self._http.request(
                method, url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise TransportError(f"Xero did not answer {method} {path}: {type(exc).__name__}") from exc
        if response.status_code < 300 or (missing_ok and response.status_code == 404):
            return response
        if response.status_code in (401, 403):
            raise AuthError(f"Xero refused {method} {path}", status=response.status_code)
        if response.status_code >= 500:
            raise ServerError(f"Xero failed {method} {path}", status=response.status_code)
        raise XeroError(
            f"Xero answered {response.status_code} to {method} {path}", status=response.status_code
        )


def token_claims(access_token: str) -> dict[str, Any]:
    """The claims of a Xero access token (a JWT), read without checking its signature.

    Only for what Xero documents there (``authentication_event_id``, ``xero_userid``): the token
    came from Xero's token endpoint over TLS, and Xero checks it on every call. {} if unreadable.
    """
    parts = access_token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = msgspec.json.decode(payload)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def auth_event_id(access_token: str) -> str | None:
    """The consent this token came from: ``/connections?authEventId=`` lists what it approved."""
    value = token_claims(access_token).get("authentication_event_id")
    return value if isinstance(value, str) and value else None


def xero_user_id(access_token: str) -> str:
    value = token_claims(access_token).get("xero_userid")
    return value.lower() if isinstance(value, str) else ""


def _oauth_error(response: httpx.Response) -> XeroError:
    if response.status_code >= 500:
        return ServerError("Xero's identity server failed", status=response.status_code)
    try:
        body = msgspec.json.decode(response.content, type=wire.OAuthErrorBody)
        error = body.error
    except msgspec.DecodeError:
        error = f"HTTP {response.status_code}"
    if error == "invalid_grant":
        # The refresh token (or code) is spent, expired or revoked: only a new consent helps.
        return NeedsReconnect("Xero refused the grant (invalid_grant)", status=response.status_code)
    return AuthError(f"Xero's identity server answered {error}", status=response.status_code)
