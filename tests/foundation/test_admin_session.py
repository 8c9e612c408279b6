"""Admins sign in to use the admin API; without a session it refuses."""

import httpx

from tests.fixtures.servers import ADMIN


async def test_signed_in_admin_sees_their_organisation(admin_client: httpx.AsyncClient) -> None:
    response = await admin_client.get("/admin/api/session")
    assert response.status_code == 200
    assert response.json()["email"] == ADMIN.email


async def test_admin_api_refuses_a_caller_without_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/api/session")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "session_required"


async def test_wrong_password_is_refused_without_saying_which_part_was_wrong(
    admin_client: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/admin/api/session", json={"email": ADMIN.email, "password": "wrong password"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_credentials"


async def test_signing_out_ends_the_session(admin_client: httpx.AsyncClient) -> None:
    assert (await admin_client.delete("/admin/api/session")).status_code == 204
    assert (await admin_client.get("/admin/api/session")).status_code == 401


async def test_session_cookie_is_http_only(
    admin_client: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/admin/api/session", json={"email": ADMIN.email, "password": ADMIN.password}
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
