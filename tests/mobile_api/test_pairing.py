"""Pairing: an admin's one-time code becomes a device token; tokens can be revoked."""

from __future__ import annotations

import httpx

from tests.fixtures.devices import PROTOCOL, PairDevice, PairedDevice


async def issue_code(admin_client: httpx.AsyncClient, staff_name: str = "Sam") -> str:
    response = await admin_client.post("/admin/api/devices/pairing-codes", json={"staff_name": staff_name})
    assert response.status_code == 201
    code: str = response.json()["code"]
    return code


async def test_a_pairing_code_pairs_a_device_of_the_admins_organisation(
    admin_client: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    code = await issue_code(admin_client, "Sam Field")
    response = await client.post(
        "/mobile/v1/pair", json={"code": code, "device_name": "Pixel"}, headers=PROTOCOL
    )
    assert response.status_code == 201
    body = response.json()
    assert body["staff_name"] == "Sam Field"
    assert body["token"].startswith("ls_dev_")
    me = (await admin_client.get("/admin/api/session")).json()
    assert body["organisation_id"] == me["organisation_id"]


async def test_a_pairing_code_works_once(admin_client: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    code = await issue_code(admin_client)
    assert (await client.post("/mobile/v1/pair", json={"code": code}, headers=PROTOCOL)).status_code == 201
    again = await client.post("/mobile/v1/pair", json={"code": code}, headers=PROTOCOL)
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "pairing_code_invalid"


async def test_a_pairing_code_is_accepted_in_any_case_and_without_its_dash(
    admin_client: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    code = (await issue_code(admin_client)).replace("-", "").lower()
    assert (await client.post("/mobile/v1/pair", json={"code": code}, headers=PROTOCOL)).status_code == 201


async def test_issuing_a_pairing_code_needs_an_admin(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/api/devices/pairing-codes", json={"staff_name": "Sam"})
    assert response.status_code == 401


async def test_the_admin_lists_paired_devices(admin_client: httpx.AsyncClient, device: PairedDevice) -> None:
    listed = (await admin_client.get("/admin/api/devices")).json()
    assert [(d["id"], d["staff_name"], d["revoked_at"]) for d in listed] == [
        (device.device_id, "Sam Field", None)
    ]


async def test_a_revoked_device_is_refused(
    admin_client: httpx.AsyncClient, client: httpx.AsyncClient, device: PairedDevice
) -> None:
    assert (await client.get("/mobile/v1/changes", headers=device.headers)).status_code == 200
    revoked = await admin_client.post(f"/admin/api/devices/{device.device_id}/revoke")
    assert revoked.status_code == 204
    response = await client.get("/mobile/v1/changes", headers=device.headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "device_revoked"


async def test_revoking_one_device_leaves_the_others_working(
    admin_client: httpx.AsyncClient, client: httpx.AsyncClient, pair_device: PairDevice
) -> None:
    first, second = await pair_device("Ann"), await pair_device("Bob")
    await admin_client.post(f"/admin/api/devices/{first.device_id}/revoke")
    assert (await client.get("/mobile/v1/changes", headers=second.headers)).status_code == 200


async def test_a_request_without_a_device_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/mobile/v1/changes", headers=PROTOCOL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "device_token_required"


async def test_an_unknown_device_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/mobile/v1/changes", headers={**PROTOCOL, "Authorization": "Bearer ls_dev_nope"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
