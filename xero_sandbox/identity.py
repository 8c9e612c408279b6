"""HTTP routes of the identity server: authorize (login.xero.com), token and revocation
(identity.xero.com) and /connections (api.xero.com)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, urlencode

from litestar import Request, Response, delete, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from . import scopes
from .consent import consent_page, error_page
from .errors import NotFound, OAuthError, SandboxError
from .responses import error_reply, json_reply
from .sandbox import Sandbox
from .wire import WireError, parse_bool

AUTO_CONSENT_PARAM = "sandbox_auto_consent"
TENANTS_PARAM = "sandbox_tenant_ids"
_AUTHORIZE_KEYS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    TENANTS_PARAM,
)


def _sandbox(request: Request[Any, Any, Any]) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _html(status: int, page: str) -> Response[str]:
    return Response(page, status_code=status, media_type="text/html")


def _redirect(uri: str, params: dict[str, str]) -> Redirect:
    separator = "&" if "?" in uri else "?"
    return Redirect(f"{uri}{separator}{urlencode(params)}", status_code=302)


def _check_authorize(sandbox: Sandbox, params: dict[str, str]) -> str | None:
    """An error to show on the page (never redirected: the redirect URI itself is not trusted yet)."""
    client = sandbox.identity.client(params.get("client_id", ""))
    if client is None:
        return "unauthorized_client: unknown client_id"
    if params.get("redirect_uri") not in client.redirect_uris:
        return "Invalid redirect_uri"
    if params.get("response_type") != "code":
        return "unsupported_response_type"
    if params.get("code_challenge") and params.get("code_challenge_method", "plain") not in ("S256", "plain"):
        return "invalid_request: code_challenge_method"
    return scopes.authorize_problem(params.get("scope", ""), client.broad_scopes)


def _approve(sandbox: Sandbox, params: dict[str, str], tenant_ids: list[str] | None) -> Redirect:
    with sandbox.locked() as state:
        chosen = [t.lower() for t in tenant_ids] if tenant_ids is not None else list(state.organisations)
        chosen = [t for t in chosen if t in state.organisations]
        code = sandbox.identity.issue_code(
            params["client_id"],
            params["redirect_uri"],
            params.get("scope", ""),
            chosen,
            {t: state.organisations[t].name for t in chosen},
            params.get("code_challenge") or None,
            params.get("code_challenge_method") or None,
            sandbox.now(),
            nonce=params.get("nonce") or None,
        )
    reply = {"code": code, "scope": params.get("scope", ""), "session_state": code[:16]}
    if "state" in params:
        reply["state"] = params["state"]
    return _redirect(params["redirect_uri"], reply)


@get("/identity/connect/authorize", sync_to_thread=False, name="authorize")
def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
    sandbox = _sandbox(request)
    params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    problem = _check_authorize(sandbox, params)
    if problem:
        return _html(400, error_page(problem))
    try:
        auto = sandbox.config.auto_consent or parse_bool(params.get(AUTO_CONSENT_PARAM))
    except WireError:
        auto = False
    if auto:
        tenants = params.get(TENANTS_PARAM)
        return _approve(sandbox, params, tenants.split(",") if tenants else None)
    kept = {k: v for k, v in params.items() if k in _AUTHORIZE_KEYS}
    orgs = list(sandbox.state.organisations.values())
    return _html(200, consent_page(params["client_id"], params.get("scope", ""), kept, orgs))


@post("/identity/connect/authorize", name="authorize_decision", status_code=302)
async def authorize_decision(request: Request[Any, Any, Any]) -> Response[Any]:
    sandbox = _sandbox(request)
    pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True)
    params = {k: v for k, v in pairs if k != "tenant"}
    problem = _check_authorize(sandbox, params)
    if problem:
        return _html(400, error_page(problem))
    if params.get("decision") != "allow":
        reply = {"error": "access_denied"}
        if "state" in params:
            reply["state"] = params["state"]
        return _redirect(params["redirect_uri"], reply)
    return _approve(sandbox, params, [v for k, v in pairs if k == "tenant"])


def _client_credentials(
    request: Request[Any, Any, Any], form: dict[str, str]
) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client") from exc
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id"), form.get("client_secret")


def _base(request: Request[Any, Any, Any]) -> str:
    return str(request.base_url).rstrip("/")


@get("/.well-known/openid-configuration", name="openid_configuration", sync_to_thread=False)
def openid_configuration(request: Request[Any, Any, Any]) -> Response[bytes]:
    """OpenID discovery, as identity.xero.com publishes it (login, identity and API share one host here)."""
    sandbox = _sandbox(request)
    base = _base(request)
    sandbox.identity.issuer = base
    body = {
        "issuer": base,
        "jwks_uri": f"{base}/.well-known/openid-configuration/jwks",
        "authorization_endpoint": f"{base}/identity/connect/authorize",
        "token_endpoint": f"{base}/connect/token",
        "revocation_endpoint": f"{base}/connect/revocation",
        "scopes_supported": sorted(scopes.KNOWN),
        "claims_supported": [
            "sub",
            "xero_userid",
            "global_session_id",
            "preferred_username",
            "email",
            "given_name",
            "family_name",
            "auth_time",
            "nonce",
        ],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "request_parameter_supported": False,
    }
    reply = json_reply(200, body)
    return Response(reply.body, status_code=200, media_type=reply.media_type)


@get("/.well-known/openid-configuration/jwks", name="jwks", sync_to_thread=False)
def jwks(request: Request[Any, Any, Any]) -> Response[bytes]:
    reply = json_reply(200, _sandbox(request).identity.jwks())
    return Response(reply.body, status_code=200, media_type=reply.media_type)


@post("/connect/token", name="token")
async def token(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox = _sandbox(request)
    sandbox.identity.issuer = _base(request)
    form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    try:
        client_id, secret = _client_credentials(request, form)
        grant_type = form.get("grant_type")
        with sandbox.locked():
            if grant_type == "authorization_code":
                code = sandbox.identity.codes.get(form.get("code", ""))
                # PKCE clients authenticate with the verifier instead of a secret.
                pkce = code is not None and code.code_challenge is not None
                client = sandbox.identity.authenticate_client(client_id, secret, secret_required=not pkce)
                pair = sandbox.identity.exchange_code(
                    client, form.get("code", ""), form.get("redirect_uri"), form.get("code_verifier")
                )
            elif grant_type == "refresh_token":
                refresh_token = form.get("refresh_token", "")
                public = sandbox.identity.is_public_grant(refresh_token)
                client = sandbox.identity.authenticate_client(client_id, secret, secret_required=not public)
                pair = sandbox.identity.refresh(client, refresh_token)
            else:
                raise OAuthError("unsupported_grant_type")
            body = sandbox.identity.token_response(pair)
        reply = json_reply(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})
    except SandboxError as error:
        reply = error_reply(error)
    return Response(reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers)


@post("/connect/revocation", name="revocation")
async def revocation(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox = _sandbox(request)
    form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    try:
        client_id, secret = _client_credentials(request, form)
        with sandbox.locked():
            token = form.get("token", "")
            public = sandbox.identity.is_public_grant(token)
            client = sandbox.identity.authenticate_client(client_id, secret, secret_required=not public)
            sandbox.identity.revoke(client, token)
        return Response(b"", status_code=200)
    except SandboxError as error:
        reply = error_reply(error)
        return Response(
            reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers
        )


@get("/connections", name="connections", sync_to_thread=False)
def connections(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox = _sandbox(request)
    sandbox.state.record_call("GET /connections")
    try:
        with sandbox.locked():
            grant = sandbox.identity.grant_for(request.headers.get("authorization"))
            found = sandbox.identity.connections_of(grant, request.query_params.get("authEventId"))
            reply = json_reply(200, [c.wire() for c in found])
    except SandboxError as error:
        reply = error_reply(error, sandbox.config.lowercase_problems)
    return Response(reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers)


@delete("/connections/{connection_id:str}", name="disconnect", sync_to_thread=False, status_code=200)
def disconnect(request: Request[Any, Any, Any], connection_id: FromPath[str]) -> Response[bytes]:
    sandbox = _sandbox(request)
    sandbox.state.record_call("DELETE /connections/{id}")
    try:
        with sandbox.locked():
            grant = sandbox.identity.grant_for(request.headers.get("authorization"))
            mine = {c.id for c in sandbox.identity.connections_of(grant)}
            if connection_id.lower() not in mine:
                raise NotFound()
            sandbox.identity.disconnect(connection_id)
        return Response(b"", status_code=204)
    except SandboxError as error:
        reply = error_reply(error)
        return Response(
            reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers
        )


IDENTITY_HANDLERS = [
    openid_configuration,
    jwks,
    authorize,
    authorize_decision,
    token,
    revocation,
    connections,
    disconnect,
]
