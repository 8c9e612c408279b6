"""Webhooks: signed as Xero signs them, intent-to-receive, events on changes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from server.http.serving import serve_in_thread
from xero_sandbox.webhooks import sign

KEY = "webhook-signing-key-for-tests"


class Receiver:
    """A minimal ASGI webhook endpoint that checks signatures the way a Xero app must."""

    def __init__(self, check_signature: bool = True) -> None:
        self.check_signature = check_signature
        self.bodies: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        signature = dict(scope["headers"]).get(b"x-xero-signature", b"").decode()
        expected = base64.b64encode(hmac.new(KEY.encode(), body, hashlib.sha256).digest()).decode()
        ok = not self.check_signature or hmac.compare_digest(signature, expected)
        if ok:
            self.bodies.append(json.loads(body))
        await send({"type": "http.response.start", "status": 200 if ok else 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    with serve_in_thread(app, lifespan="off") as server:
        yield app, server.base_url + "/webhooks/xero"


def test_signature_is_base64_hmac_sha256_of_body() -> None:
    body = b'{"events":[]}'
    assert sign(KEY, body) == base64.b64encode(hmac.new(KEY.encode(), body, hashlib.sha256).digest()).decode()


def test_intent_to_receive_passes_for_a_correct_receiver(make_sandbox, receiver) -> None:  # type: ignore[no-untyped-def]
    _, url = receiver
    sb = make_sandbox(webhook_url=url, webhook_key=KEY)
    result = sb.control().post("/webhooks/intent-to-receive").json()
    assert result == {"invalid_signature_status": 401, "valid_signature_status": 200, "passed": True}


def test_intent_to_receive_fails_for_a_receiver_that_skips_checks(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    with serve_in_thread(Receiver(check_signature=False), lifespan="off") as server:
        sb = make_sandbox(webhook_url=server.base_url, webhook_key=KEY)
        assert sb.control().post("/webhooks/intent-to-receive").json()["passed"] is False


def test_control_api_sends_a_signed_contact_event(make_sandbox, receiver) -> None:  # type: ignore[no-untyped-def]
    app, url = receiver
    sb = make_sandbox(webhook_url=url, webhook_key=KEY)
    org = sb.organisation()
    contact_id = next(iter(org.contacts))
    sb.control().post(
        "/webhooks/events",
        json={
            "tenant_id": org.tenant_id,
            "category": "CONTACT",
            "resource_id": contact_id,
            "event_type": "UPDATE",
        },
    )
    (payload,) = app.bodies
    (event,) = payload["events"]
    assert (event["resourceId"], event["eventCategory"], event["eventType"], event["tenantType"]) == (
        contact_id,
        "CONTACT",
        "UPDATE",
        "ORGANISATION",
    )
    assert event["resourceUrl"].endswith(f"/api.xro/2.0/Contacts/{contact_id}")
    assert payload["firstEventSequence"] <= payload["lastEventSequence"]


def test_api_changes_send_events_automatically(make_sandbox, receiver) -> None:  # type: ignore[no-untyped-def]
    app, url = receiver
    sb = make_sandbox(webhook_url=url, webhook_key=KEY, webhook_auto=True)
    org = sb.organisation()
    xero = sb.api(org.tenant_id)
    created = xero.put("/Contacts", json={"Name": "Hooked"}).json()["Contacts"][0]
    deadline = time.monotonic() + 5
    while not app.bodies and time.monotonic() < deadline:
        time.sleep(0.02)
    events = [e for body in app.bodies for e in body["events"]]
    assert {(e["resourceId"], e["eventType"]) for e in events} == {(created["ContactID"], "CREATE")}


def test_deliveries_are_listed(make_sandbox, receiver) -> None:  # type: ignore[no-untyped-def]
    _, url = receiver
    sb = make_sandbox(webhook_url=url, webhook_key=KEY)
    sb.control().post("/webhooks/intent-to-receive")
    deliveries = sb.control().get("/webhooks/deliveries").json()
    assert [d["status"] for d in deliveries] == [401, 200]
    assert isinstance(httpx.URL(url), httpx.URL)


def test_invoice_created_through_the_api_sends_an_invoice_event(make_sandbox, receiver) -> None:  # type: ignore[no-untyped-def]
    app, url = receiver
    sb = make_sandbox(webhook_url=url, webhook_key=KEY, webhook_auto=True)
    org = sb.organisation()
    xero = sb.api(org.tenant_id)
    contact_id = next(iter(org.contacts))
    invoice = xero.put(
        "/Invoices",
        json={
            "Type": "ACCREC",
            "Contact": {"ContactID": contact_id},
            "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "200"}],
        },
    ).json()["Invoices"][0]
    deadline = time.monotonic() + 5
    while not app.bodies and time.monotonic() < deadline:
        time.sleep(0.02)
    events = {(e["eventCategory"], e["resourceId"], e["eventType"]) for b in app.bodies for e in b["events"]}
    assert ("INVOICE", invoice["InvoiceID"], "CREATE") in events
