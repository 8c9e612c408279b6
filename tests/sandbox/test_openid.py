"""OpenID Connect as Xero's identity server does it: discovery, a JWKS, RS256-signed id tokens a client
verifies with nothing but the published key."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fixtures.sandbox import TEST_CLIENT, RunningSandbox
from xero_sandbox.store import Organisation


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """What an OpenID client does: pick the key by kid, check the RS256 signature, read the claims."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(_b64decode(header_b64))
    assert header["alg"] == "RS256"
    (key,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    public = rsa.RSAPublicNumbers(
        int.from_bytes(_b64decode(key["e"]), "big"), int.from_bytes(_b64decode(key["n"]), "big")
    ).public_key()
    public.verify(
        _b64decode(signature_b64), f"{header_b64}.{payload_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    claims: dict[str, Any] = json.loads(_b64decode(payload_b64))
    return claims


def _discover(sandbox: RunningSandbox) -> tuple[dict[str, Any], dict[str, Any]]:
    http = sandbox.http()
    configuration = http.get("/.well-known/openid-configuration").json()
    jwks = http.get(configuration["jwks_uri"]).json()
    return configuration, jwks


def test_discovery_names_the_endpoints_and_rs256(sandbox: RunningSandbox) -> None:
    configuration, jwks = _discover(sandbox)

    assert configuration["issuer"] == sandbox.base_url
    assert configuration["jwks_uri"] == f"{sandbox.base_url}/.well-known/openid-configuration/jwks"
    assert configuration["authorization_endpoint"] == f"{sandbox.base_url}/identity/connect/authorize"
    assert configuration["token_endpoint"] == f"{sandbox.base_url}/connect/token"
    assert configuration["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "S256" in configuration["code_challenge_methods_supported"]
    assert "openid" in configuration["scopes_supported"]
    (key,) = jwks["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert "d" not in key  # public half only


def test_the_id_token_verifies_against_the_jwks_with_the_clients_nonce(
    sandbox: RunningSandbox, xero_org: Organisation
) -> None:
    configuration, jwks = _discover(sandbox)
    http = sandbox.http()
    redirect = http.get(
        configuration["authorization_endpoint"],
        params={
            "response_type": "code",
            "client_id": TEST_CLIENT.client_id,
            "redirect_uri": TEST_CLIENT.redirect_uris[0],
            "scope": "openid profile email offline_access accounting.contacts",
            "state": "st",
            "nonce": "n-0S6_WzA2Mj",
            "sandbox_auto_consent": "true",
        },
    )
    code = parse_qs(urlparse(redirect.headers["location"]).query)["code"][0]
    tokens = http.post(
        configuration["token_endpoint"],
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": TEST_CLIENT.redirect_uris[0]},
        auth=(TEST_CLIENT.client_id, TEST_CLIENT.client_secret),
    ).json()

    claims = _verify(tokens["id_token"], jwks)

    assert claims["iss"] == configuration["issuer"]
    assert claims["aud"] == TEST_CLIENT.client_id
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["iat"] <= time.time() + 5 < claims["exp"] + 5
    assert claims["email"] == "sandbox@example.com"
    digest = hashlib.sha256(tokens["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    _verify(tokens["access_token"], jwks)  # access tokens are RS256 JWTs too (opaque to clients)


def test_a_tampered_id_token_does_not_verify(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    _, jwks = _discover(sandbox)
    token = sandbox.authorize(scope="openid offline_access accounting.contacts")["id_token"]
    header, payload, signature = token.split(".")
    forged = json.loads(_b64decode(payload)) | {"sub": "someone-else"}
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()

    with pytest.raises(InvalidSignature):
        _verify(f"{header}.{forged_payload}.{signature}", jwks)
