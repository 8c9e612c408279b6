"""The identity server: authorize + consent, token grants, rotation with grace, revocation, connections."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.fixtures.sandbox import DEFAULT_SCOPE, TEST_CLIENT, RunningSandbox
from xero_sandbox.store import Organisation

REDIRECT = TEST_CLIENT.redirect_uris[0]


def _authorize_params(**extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": TEST_CLIENT.client_id,
        "redirect_uri": REDIRECT,
        "scope": DEFAULT_SCOPE,
        "state": "s-123",
        **extra,
    }


def _query(response: httpx.Response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(response.headers["location"]).query).items()}


def _exchange(http: httpx.Client, code: str) -> httpx.Response:
    return http.post(
        "/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=(TEST_CLIENT.client_id, TEST_CLIENT.client_secret),
    )


def _refresh(http: httpx.Client, refresh_token: str) -> httpx.Response:
    return http.post(
        "/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": TEST_CLIENT.client_id,
            "client_secret": TEST_CLIENT.client_secret,
        },
    )


def test_consent_page_lists_the_organisations(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    page = sandbox.http().get("/identity/connect/authorize", params=_authorize_params())
    assert page.status_code == 200
    assert xero_org.name in page.text
    assert xero_org.tenant_id in page.text


def test_one_click_consent_redirects_with_code_and_state(
    sandbox: RunningSandbox, xero_org: Organisation
) -> None:
    http = sandbox.http()
    page = http.get("/identity/connect/authorize", params=_authorize_params())
    form = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    form.pop("tenant", None)
    decision = http.post(
        "/identity/connect/authorize",
        content="&".join(f"{k}={httpx.QueryParams({k: v})[k]}" for k, v in form.items()).replace(" ", "+")
        + f"&tenant={xero_org.tenant_id}&decision=allow",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert decision.status_code == 302
    query = _query(decision)
    assert query["state"] == "s-123"
    assert _exchange(http, query["code"]).status_code == 200


def test_declined_consent_redirects_with_access_denied(
    sandbox: RunningSandbox, xero_org: Organisation
) -> None:
    body = httpx.QueryParams({**_authorize_params(), "decision": "deny"})
    decision = sandbox.http().post(
        "/identity/connect/authorize",
        content=str(body),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert _query(decision) == {"error": "access_denied", "state": "s-123"}


def test_auto_consent_flag_skips_the_page(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    response = sandbox.http().get(
        "/identity/connect/authorize", params=_authorize_params(sandbox_auto_consent="True")
    )
    assert response.status_code == 302
    assert "code" in _query(response)


def test_unknown_redirect_uri_is_refused_on_the_page(sandbox: RunningSandbox) -> None:
    response = sandbox.http().get(
        "/identity/connect/authorize",
        params={**_authorize_params(), "redirect_uri": "https://evil.example/cb"},
    )
    assert response.status_code == 400
    assert "location" not in response.headers


def test_token_response_has_xero_fields_and_30_minute_access(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(time_scale=1.0)
    sb.organisation()
    tokens = sb.authorize()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] in (1799, 1800)
    assert {"access_token", "refresh_token", "id_token", "scope"} <= tokens.keys()


def test_no_refresh_token_without_offline_access(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    tokens = sandbox.authorize(scope="openid accounting.contacts")
    assert "refresh_token" not in tokens


def test_pkce_s256_exchange_needs_the_right_verifier(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    assert "access_token" in sandbox.authorize(pkce=True)
    http = sandbox.http()
    redirect = http.get(
        "/identity/connect/authorize",
        params=_authorize_params(
            sandbox_auto_consent="true",
            code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            code_challenge_method="S256",
        ),
    )
    response = http.post(
        "/connect/token",
        data={
            "grant_type": "authorization_code",
            "code": _query(redirect)["code"],
            "redirect_uri": REDIRECT,
            "client_id": TEST_CLIENT.client_id,
            "code_verifier": "not-the-verifier",
        },
    )
    assert (response.status_code, response.json()) == (400, {"error": "invalid_grant"})


def test_client_may_authenticate_with_form_body(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    http = sandbox.http()
    code = _query(
        http.get("/identity/connect/authorize", params=_authorize_params(sandbox_auto_consent="1"))
    )["code"]
    response = http.post(
        "/connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": TEST_CLIENT.client_id,
            "client_secret": TEST_CLIENT.client_secret,
        },
    )
    assert response.status_code == 200


def test_wrong_client_secret_is_invalid_client(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    http = sandbox.http()
    code = _query(
        http.get("/identity/connect/authorize", params=_authorize_params(sandbox_auto_consent="1"))
    )["code"]
    response = http.post(
        "/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=(TEST_CLIENT.client_id, "nope"),
    )
    assert (response.status_code, response.json()) == (400, {"error": "invalid_client"})


def test_authorization_code_works_once(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    http = sandbox.http()
    code = _query(
        http.get("/identity/connect/authorize", params=_authorize_params(sandbox_auto_consent="1"))
    )["code"]
    assert _exchange(http, code).status_code == 200
    again = _exchange(http, code)
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})


def test_expired_access_token_gets_xero_401(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    api = sandbox.api(xero_org.tenant_id)
    sandbox.handle.advance(1801)
    response = api.get("/Contacts")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    body = response.json()
    assert (body["Type"], body["Title"], body["Status"]) == (None, "Unauthorized", 401)
    assert re.fullmatch(r"TokenExpired: token expired at \d\d/\d\d/\d{4} \d\d:\d\d:\d\d", body["Detail"])


def test_refresh_rotates_the_refresh_token(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    first = sandbox.authorize()
    second = _refresh(sandbox.http(), first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert sandbox.api(xero_org.tenant_id, second["access_token"]).get("/Organisation").status_code == 200


def test_old_refresh_token_within_grace_returns_the_same_new_pair(
    sandbox: RunningSandbox, xero_org: Organisation
) -> None:
    first = sandbox.authorize()
    http = sandbox.http()
    second = _refresh(http, first["refresh_token"]).json()
    sandbox.handle.advance(1700)
    replay = _refresh(http, first["refresh_token"]).json()
    assert (replay["access_token"], replay["refresh_token"]) == (
        second["access_token"],
        second["refresh_token"],
    )


def test_old_refresh_token_after_grace_is_invalid_grant(
    sandbox: RunningSandbox, xero_org: Organisation
) -> None:
    first = sandbox.authorize()
    http = sandbox.http()
    _refresh(http, first["refresh_token"])
    sandbox.handle.advance(1801)
    response = _refresh(http, first["refresh_token"])
    assert (response.status_code, response.json()) == (400, {"error": "invalid_grant"})


def test_grace_period_is_configurable(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(refresh_grace_seconds=5, access_token_seconds=10)
    sb.organisation()
    first = sb.authorize()
    assert first["expires_in"] == 0  # 10 sandbox seconds at 60x: a sixth of a real second
    http = sb.http()
    _refresh(http, first["refresh_token"])
    sb.handle.advance(6)
    assert _refresh(http, first["refresh_token"]).status_code == 400


def test_revocation_kills_refresh_token_and_connections(
    sandbox: RunningSandbox, xero_org: Organisation
) -> None:
    tokens = sandbox.authorize()
    http = sandbox.http()
    revoked = http.post(
        "/connect/revocation",
        data={"token": tokens["refresh_token"]},
        auth=(TEST_CLIENT.client_id, TEST_CLIENT.client_secret),
    )
    assert revoked.status_code == 200
    assert _refresh(http, tokens["refresh_token"]).json() == {"error": "invalid_grant"}


def test_connections_list_has_xero_fields(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    tokens = sandbox.authorize()
    response = sandbox.http().get(
        "/Connections", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    (connection,) = response.json()
    assert connection["tenantId"] == xero_org.tenant_id
    assert connection["tenantType"] == "ORGANISATION"
    assert connection["tenantName"] == xero_org.name
    assert {"id", "authEventId", "createdDateUtc", "updatedDateUtc"} <= connection.keys()


def test_deleting_a_connection_makes_the_tenant_forbidden(
    sandbox: RunningSandbox, xero_org: Organisation
) -> None:
    tokens = sandbox.authorize()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    http = sandbox.http()
    (connection,) = http.get("/connections", headers=auth).json()
    assert http.delete(f"/connections/{connection['id']}", headers=auth).status_code == 204
    response = sandbox.api(xero_org.tenant_id, tokens["access_token"]).get("/Contacts")
    assert response.status_code == 403
    assert response.json()["Detail"] == "AuthenticationUnsuccessful"


def test_tenant_not_connected_is_forbidden(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    other = sandbox.organisation(name="Other Org")
    tokens = sandbox.authorize([xero_org.tenant_id])
    assert sandbox.api(other.tenant_id, tokens["access_token"]).get("/Contacts").status_code == 403


@pytest.mark.parametrize("header", [None, "Bearer not-a-token"])
def test_missing_or_unknown_token_is_401(
    sandbox: RunningSandbox, xero_org: Organisation, header: str | None
) -> None:
    headers = {"Xero-tenant-id": xero_org.tenant_id, "Accept": "application/json"}
    if header:
        headers["Authorization"] = header
    response = sandbox.http().get("/api.xro/2.0/Contacts", headers=headers)
    assert response.status_code == 401


def test_confidential_client_refresh_needs_its_secret(
    sandbox: RunningSandbox, xero_org: Organisation
) -> None:
    tokens = sandbox.authorize()
    response = sandbox.http().post(
        "/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": TEST_CLIENT.client_id,
        },
    )
    assert (response.status_code, response.json()) == (400, {"error": "invalid_client"})


def test_pkce_client_refreshes_with_client_id_alone(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    tokens = sandbox.authorize(pkce=True)
    response = sandbox.http().post(
        "/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": TEST_CLIENT.client_id,
        },
    )
    assert response.status_code == 200


def test_time_scale_makes_tokens_expire_in_real_time(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(time_scale=60, access_token_seconds=60)  # a Xero minute lasts one real second
    org = sb.organisation()
    api = sb.api(org.tenant_id)
    assert api.get("/Organisation").status_code == 200
    time.sleep(1.1)
    assert api.get("/Organisation").status_code == 401


def test_expires_in_is_in_real_seconds_under_a_time_scale(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    # 1800 sandbox seconds at 60x last 30 real seconds: expires_in says so, as Retry-After does.
    sb = make_sandbox(time_scale=60.0, access_token_seconds=1800)
    sb.organisation()
    tokens = sb.authorize()
    assert tokens["expires_in"] in (29, 30)
    refreshed = _refresh(sb.http(), tokens["refresh_token"]).json()
    assert refreshed["expires_in"] in (29, 30)
