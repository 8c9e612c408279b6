"""Devices report when they were last seen and last synced; the Settings form refuses what the
service refuses, naming the field."""

from __future__ import annotations

import html
import uuid

import httpx

from server.db.database import Database
from server.services.devices import DeviceService
from server.settings import Settings
from tests.admin_console.conftest import Console
from tests.fixtures.devices import PairDevice


async def test_a_device_is_seen_when_it_calls_and_synced_when_it_pulls(
    admin_client: httpx.AsyncClient, client: httpx.AsyncClient, pair_device: PairDevice
) -> None:
    device = await pair_device()
    [listed] = (await admin_client.get("/admin/api/devices")).json()
    assert (listed["last_seen_at"], listed["last_sync_at"]) == (None, None)

    assert (await client.get("/mobile/v1/changes", headers=device.headers)).status_code == 200

    [listed] = (await admin_client.get("/admin/api/devices")).json()
    assert listed["last_sync_at"] is not None
    assert listed["last_seen_at"] == listed["last_sync_at"]


async def test_settings_posted_with_an_account_xero_does_not_have_are_refused_next_to_the_field(
    signed_in: Console,
) -> None:
    await signed_in.open("/admin/settings")
    response = await signed_in.post(
        "/admin/settings",
        {"bank_account_code": "999", "invoice_status": "AUTHORISED", "forward_payments": "on"},
    )
    assert response.status_code == 400
    assert 'id="bank_account_code-problem"' in response.text
    assert "999 is not a bank account" in response.text
    saved = (await signed_in.http.get("/admin/api/settings")).json()
    assert saved["bank_account_code"] is None


async def test_settings_saved_from_the_form_are_what_the_api_reads(signed_in: Console) -> None:
    response = await signed_in.post(
        "/admin/settings",
        {"invoice_status": "DRAFT", "update_customers": "on", "sync_interval_minutes": "45"},
    )
    assert response.status_code == 303
    saved = (await signed_in.http.get("/admin/api/settings")).json()
    assert saved["invoice_status"] == "DRAFT"
    assert saved["update_customers"] is True
    assert saved["forward_payments"] is False  # an unticked box
    assert saved["sync_interval_minutes"] == 45
    assert saved["updated_by"] == "owner@example.com"


async def test_a_revoke_without_the_confirmation_only_asks(signed_in: Console, settings: Settings) -> None:
    """A post from a page that had the one-click button (no ``confirm``) goes to the confirmation page."""
    database = Database(settings.database_url)
    try:
        session = await signed_in.http.get("/admin/api/session")
        organisation = uuid.UUID(session.json()["organisation_id"])
        devices = DeviceService(database)
        code = await devices.issue_pairing_code(organisation, "Sam Field")
        paired = await devices.pair(code.code, "Sam's phone")
        answer = await signed_in.post(f"/admin/devices/{paired.principal.device_id}/revoke")
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/admin/devices/{paired.principal.device_id}/revoke"
        [listed] = await devices.list_devices(organisation)
        assert listed.revoked_at is None
        confirm = await signed_in.open(answer.headers["location"])
        assert "Revoke Sam Field's Sam's phone?" in html.unescape(confirm.text)
        done = await signed_in.post(f"/admin/devices/{paired.principal.device_id}/revoke", {"confirm": "yes"})
        assert done.status_code == 303
        [listed] = await devices.list_devices(organisation)
        assert listed.revoked_at is not None
    finally:
        await database.close()
