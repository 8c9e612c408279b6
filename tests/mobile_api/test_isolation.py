"""A device of one organisation can neither read nor write another's data, on any endpoint."""

from __future__ import annotations

import uuid

import httpx
import pytest

from server.db.database import Database
from server.services.devices import DeviceService
from tests.factories import documented_push, make_organisation, publish_entities, standard_mirror
from tests.fixtures.devices import PROTOCOL, PairedDevice


@pytest.fixture
async def outsider(server_db: Database) -> PairedDevice:
    """A device of another organisation, paired on the same server."""
    org = await make_organisation(server_db, "Other Trades Ltd")
    devices = DeviceService(server_db)
    paired = await devices.pair((await devices.issue_pairing_code(org, "Olly")).code, "")
    return PairedDevice(str(paired.principal.device_id), paired.token, org)


@pytest.fixture
async def acme_with_uploads(mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    response = await mobile.post("/mobile/v1/mutations", json={"mutations": documented_push()})
    assert [r["status"] for r in response.json()["results"]] == ["applied", "applied", "rejected"]


@pytest.mark.usefixtures("acme_with_uploads")
async def test_a_pull_sees_only_the_devices_organisation(
    client: httpx.AsyncClient, outsider: PairedDevice
) -> None:
    body = (await client.get("/mobile/v1/changes", headers=outsider.headers)).json()
    assert body == {"changes": [], "cursor": 0, "has_more": False}


@pytest.mark.usefixtures("acme_with_uploads")
async def test_a_push_cannot_refer_to_another_organisations_records(
    client: httpx.AsyncClient, outsider: PairedDevice
) -> None:
    invoice, payment = documented_push()[1], documented_push()[2]
    response = await client.post(
        "/mobile/v1/mutations",
        json={"mutations": [{**invoice, "mutation_id": "o-1"}, {**payment, "mutation_id": "o-2"}]},
        headers=outsider.headers,
    )
    assert [r["code"] for r in response.json()["results"]] == ["unknown_customer", "dependency_rejected"]


@pytest.mark.usefixtures("acme_with_uploads")
async def test_a_mutation_id_of_another_organisation_is_not_a_replay(
    client: httpx.AsyncClient, outsider: PairedDevice
) -> None:
    customer = documented_push()[0]
    response = await client.post(
        "/mobile/v1/mutations", json={"mutations": [customer]}, headers=outsider.headers
    )
    [result] = response.json()["results"]
    assert result["status"] == "applied"
    assert "replayed" not in result


@pytest.mark.usefixtures("acme_with_uploads")
async def test_upload_status_of_another_organisation_is_not_found(
    client: httpx.AsyncClient, outsider: PairedDevice
) -> None:
    mutation_id = documented_push()[0]["mutation_id"]
    response = await client.get(f"/mobile/v1/uploads/{mutation_id}", headers=outsider.headers)
    assert response.status_code == 404


async def test_an_admin_cannot_see_or_revoke_another_organisations_device(
    admin_client: httpx.AsyncClient, client: httpx.AsyncClient, outsider: PairedDevice
) -> None:
    assert (await admin_client.get("/admin/api/devices")).json() == []
    response = await admin_client.post(f"/admin/api/devices/{outsider.device_id}/revoke")
    assert response.status_code == 404
    assert (await client.get("/mobile/v1/changes", headers=outsider.headers)).status_code == 200


async def test_pairing_needs_a_code_of_this_server(client: httpx.AsyncClient) -> None:
    response = await client.post("/mobile/v1/pair", json={"code": "AAAAA-BBBBB"}, headers=PROTOCOL)
    assert response.status_code == 401
