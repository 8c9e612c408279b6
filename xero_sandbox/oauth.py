"""Xero's OAuth 2.0 identity server: codes, PKCE, rotating refresh tokens with a grace period, connections.

Tokens are JWTs signed RS256 with a per-sandbox RSA key, as Xero's are; the key is published as a JWKS
beside an OpenID discovery document (``identity.py``), so standard OpenID clients can verify id tokens.
The sandbox itself only ever looks access tokens up by value: clients must treat them as opaque, which is
what Xero asks of them too.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import math
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .clock import Clock
from .config import RegisteredClient, SandboxConfig
from .errors import Forbidden, OAuthError, Unauthorized
from .store import new_id

SANDBOX_USER_ID = "5d5a8c9c-1d9a-4c8e-8f7e-0a1b2c3d4e5f"


@dataclass
class Connection:
    id: str
    tenant_id: str
    tenant_name: str
    auth_event_id: str
    client_id: str
    created: datetime
    updated: datetime

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "authEventId": self.auth_event_id,
            "tenantId": self.tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": self.tenant_name,
            "createdDateUtc": _iso(self.created),
            "updatedDateUtc": _iso(self.updated),
        }


def _iso(moment: datetime) -> str:
    # Xero's identity API sends UTC date-times without offset, to 7 fractional digits.
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    tenant_ids: list[str]
    auth_event_id: str
    expires_at: float
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None = None


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str | None
    access_expires_at: float
    id_token: str | None
    scope: str


@dataclass
class Grant:
    """One authorisation: what ``authorization_code`` established and refreshes keep alive."""

    id: str
    client_id: str
    scope: str
    auth_event_id: str
    # PKCE apps have no secret: their refreshes authenticate with the client_id alone.
    public_client: bool = False
    revoked: bool = False


@dataclass
class RefreshToken:
    token: str
    grant_id: str
    expires_at: float
    successor: TokenPair | None = None
    rotated_at: float | None = None


@dataclass
class AccessToken:
    token: str
    grant_id: str
    expires_at: float


@functools.cache
def _new_signing_key() -> bytes:
    """One RSA key per process (generating one takes a noticeable fraction of a second); a sandbox
    loaded from a state file keeps the key it saved."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@functools.cache
def _load_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@dataclass
class Identity:
    """All identity-server state; the sandbox has one Xero user who approves everything."""

    config: SandboxConfig
    clock: Clock
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # The RSA key tokens are signed with (PKCS#8 PEM, so the state file can keep it).
    signing_key: bytes = field(default_factory=_new_signing_key)
    # Who signs id tokens: the URL the identity server is reached at (set by its routes), as OpenID
    # clients check the id token's `iss` against the discovery document they fetched.
    issuer: str = "https://identity.xero.com"
    codes: dict[str, AuthCode] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    extra_clients: dict[str, RegisteredClient] = field(default_factory=dict)

    # --- clients -------------------------------------------------------------------------------
    def client(self, client_id: str) -> RegisteredClient | None:
        for client in self.config.clients:
            if client.client_id == client_id:
                return client
        return self.extra_clients.get(client_id)

    def authenticate_client(
        self, client_id: str | None, client_secret: str | None, secret_required: bool
    ) -> RegisteredClient:
        client = self.client(client_id or "")
        if client is None:
            raise OAuthError("invalid_client")
        if (secret_required or client_secret is not None) and not hmac.compare_digest(
            (client_secret or "").encode(), client.client_secret.encode()
        ):
            raise OAuthError("invalid_client")
        return client

    # --- authorize -----------------------------------------------------------------------------
    def issue_code(
        self,
        client_id: str,
        redirect_uri: str,
        scope: str,
        tenant_ids: list[str],
        tenant_names: dict[str, str],
        code_challenge: str | None,
        code_challenge_method: str | None,
        now: datetime,
        nonce: str | None = None,
    ) -> str:
        """The user approved: connect the chosen tenants and hand out a one-time code."""
        auth_event_id = new_id()
        for tenant_id in tenant_ids:
            self.connect(client_id, tenant_id, tenant_names[tenant_id], auth_event_id, now)
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthCode(
            code=code,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scope=scope,
            tenant_ids=tenant_ids,
            auth_event_id=auth_event_id,
            expires_at=self.clock.seconds() + self.config.authorization_code_seconds,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            nonce=nonce,
        )
        return code

    def connect(
        self, client_id: str, tenant_id: str, tenant_name: str, auth_event_id: str, now: datetime
    ) -> Connection:
        for connection in self.connections.values():
            if connection.client_id == client_id and connection.tenant_id == tenant_id:
                connection.updated = now
                connection.auth_event_id = auth_event_id
                return connection
        connection = Connection(
            id=new_id(),
            tenant_id=tenant_id,
            tenant_name=tenant_name,
            auth_event_id=auth_event_id,
            client_id=client_id,
            created=now,
            updated=now,
        )
        self.connections[connection.id] = connection
        return connection

    # --- token endpoint ------------------------------------------------------------------------
    def exchange_code(
        self, client: RegisteredClient, code: str, redirect_uri: str | None, code_verifier: str | None
    ) -> TokenPair:
        issued = self.codes.pop(code, None)  # one use only, even when the exchange fails
        if issued is None or issued.client_id != client.client_id or issued.expires_at < self.clock.seconds():
            raise OAuthError("invalid_grant")
        if redirect_uri is not None and redirect_uri != issued.redirect_uri:
            raise OAuthError("invalid_grant")
        if issued.code_challenge is not None and not (
            code_verifier
            and _pkce_matches(issued.code_challenge, issued.code_challenge_method, code_verifier)
        ):
            raise OAuthError("invalid_grant")
        grant = Grant(
            id=new_id(),
            client_id=client.client_id,
            scope=issued.scope,
            auth_event_id=issued.auth_event_id,
            public_client=issued.code_challenge is not None,
        )
        self.grants[grant.id] = grant
        return self._mint(grant, nonce=issued.nonce)

    def is_public_grant(self, refresh_token: str) -> bool:
        """Whether a refresh token belongs to a PKCE (secret-less) authorisation."""
        stored = self.refresh_tokens.get(refresh_token)
        return stored is not None and self.grants[stored.grant_id].public_client

    def refresh(self, client: RegisteredClient, token: str) -> TokenPair:
        """Rotate. Within the grace period the old token yields the same new pair again."""
        stored = self.refresh_tokens.get(token)
        now = self.clock.seconds()
        if stored is None or stored.expires_at < now:
            raise OAuthError("invalid_grant")
        grant = self.grants[stored.grant_id]
        if grant.revoked or grant.client_id != client.client_id:
            raise OAuthError("invalid_grant")
        if stored.successor is not None:
            assert stored.rotated_at is not None
            if now - stored.rotated_at > self.config.refresh_grace_seconds:
                raise OAuthError("invalid_grant")
            return stored.successor
        pair = self._mint(grant)
        stored.successor = pair
        stored.rotated_at = now
        return pair

    def revoke(self, client: RegisteredClient, token: str) -> None:
        """Revoking a refresh token ends its authorisation: tokens die, the app's connections go."""
        stored = self.refresh_tokens.get(token)
        if stored is None:
            return  # RFC 7009: unknown tokens are not an error
        grant = self.grants[stored.grant_id]
        if grant.client_id != client.client_id:
            raise OAuthError("invalid_grant")
        grant.revoked = True
        for connection_id in [c.id for c in self.connections.values() if c.client_id == client.client_id]:
            del self.connections[connection_id]

    def _mint(self, grant: Grant, nonce: str | None = None) -> TokenPair:
        now = self.clock.seconds()
        expires_at = now + self.config.access_token_seconds
        access = self._jwt(
            {
                "nbf": int(now),
                "exp": int(expires_at),
                "iss": "https://identity.xero.com",
                "aud": "https://identity.xero.com/resources",
                "client_id": grant.client_id,
                "sub": SANDBOX_USER_ID,
                "xero_userid": SANDBOX_USER_ID,
                "jti": new_id(),
                "authentication_event_id": grant.auth_event_id,
                "scope": grant.scope.split(),
            }
        )
        self.access_tokens[access] = AccessToken(token=access, grant_id=grant.id, expires_at=expires_at)
        refresh = None
        if "offline_access" in grant.scope.split():
            refresh = secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = RefreshToken(
                token=refresh, grant_id=grant.id, expires_at=now + self.config.refresh_token_seconds
            )
        id_token = None
        if "openid" in grant.scope.split():
            id_token = self._id_token(grant, access, nonce)
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            access_expires_at=expires_at,
            id_token=id_token,
            scope=grant.scope,
        )

    def token_response(self, pair: TokenPair) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": pair.access_token,
            # In real seconds, as Retry-After: the token dies after that much wall-clock time, so a client
            # refreshing ahead of expires_in does so in time under any time_scale (rounded down: never
            # promise a second the token does not live).
            "expires_in": max(
                0, math.floor(self.clock.real_seconds(pair.access_expires_at - self.clock.seconds()))
            ),
            "token_type": "Bearer",
            "scope": pair.scope,
        }
        if pair.refresh_token:
            body["refresh_token"] = pair.refresh_token
        if pair.id_token:
            body["id_token"] = pair.id_token
        return body

    def _id_token(self, grant: Grant, access_token: str, nonce: str | None) -> str:
        """Xero's id token claims. Times are real Unix time (OpenID clients compare them with their own
        clock, whatever the sandbox's time scale)."""
        now = int(time.time())
        digest = hashlib.sha256(access_token.encode()).digest()
        claims: dict[str, Any] = {
            "nbf": now,
            "iat": now,
            "exp": now + 300,
            "iss": self.issuer,
            "aud": grant.client_id,
            "sub": SANDBOX_USER_ID,
            "auth_time": now,
            "at_hash": _b64(digest[: len(digest) // 2]),
            "xero_userid": SANDBOX_USER_ID,
            "global_session_id": grant.auth_event_id,
            "preferred_username": "sandbox@example.com",
            "email": "sandbox@example.com",
            "given_name": "Sandbox",
            "family_name": "User",
        }
        if nonce:
            claims["nonce"] = nonce
        return self._jwt(claims)

    # --- signing -------------------------------------------------------------------------------
    @property
    def _private_key(self) -> rsa.RSAPrivateKey:
        key = _load_key(self.signing_key)
        return key

    @property
    def key_id(self) -> str:
        """RFC 7638 thumbprint of the public key: changes only with the key."""
        jwk = self._public_jwk()
        canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
        return _b64(hashlib.sha256(canonical.encode()).digest())

    def _public_jwk(self) -> dict[str, str]:
        numbers = self._private_key.public_key().public_numbers()
        return {"kty": "RSA", "n": _b64(_unsigned(numbers.n)), "e": _b64(_unsigned(numbers.e))}

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set clients verify RS256 signatures with."""
        return {"keys": [{**self._public_jwk(), "use": "sig", "alg": "RS256", "kid": self.key_id}]}

    def _jwt(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": self.key_id}).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = self._private_key.sign(
            f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{header}.{payload}.{_b64(signature)}"

    # --- API gateway ---------------------------------------------------------------------------
    def grant_for(self, authorization: str | None) -> Grant:
        """The grant behind a Bearer token, or the 401 Xero's gateway answers."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthorized("AuthenticationUnsuccessful")
        stored = self.access_tokens.get(authorization[7:].strip())
        if stored is None:
            raise Unauthorized("AuthenticationUnsuccessful")
        if stored.expires_at <= self.clock.seconds():
            expired = self.clock.at(stored.expires_at)
            raise Unauthorized(f"TokenExpired: token expired at {expired:%m/%d/%Y %H:%M:%S}")
        grant = self.grants[stored.grant_id]
        if grant.revoked:
            raise Unauthorized("AuthenticationUnsuccessful")
        return grant

    def connection_for(self, grant: Grant, tenant_id: str | None) -> Connection:
        if not tenant_id:
            raise Forbidden("AuthenticationUnsuccessful")
        for connection in self.connections.values():
            if connection.client_id == grant.client_id and connection.tenant_id == tenant_id.lower():
                return connection
        raise Forbidden("AuthenticationUnsuccessful")

    def connections_of(self, grant: Grant, auth_event_id: str | None = None) -> list[Connection]:
        return [
            c
            for c in self.connections.values()
            if c.client_id == grant.client_id and (auth_event_id is None or c.auth_event_id == auth_event_id)
        ]

    def disconnect(self, connection_id: str) -> Connection | None:
        return self.connections.pop(connection_id.lower(), None)


def _unsigned(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _pkce_matches(challenge: str, method: str | None, verifier: str) -> bool:
    if (method or "plain").upper() == "S256":
        computed = _b64(hashlib.sha256(verifier.encode()).digest())
    else:
        computed = verifier
    return hmac.compare_digest(computed, challenge)


def s256_challenge(verifier: str) -> str:
    """What a client sends as code_challenge for ``verifier`` (exposed for tests and scripts)."""
    return _b64(hashlib.sha256(verifier.encode()).digest())
