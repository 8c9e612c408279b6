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
from tests.fixtures.xero_spec import check_webhook_delivery
from xero_sandbox.webhooks import sign

KEY = "webhook-signing-key-for-tests"


class Receiver:
    """A minimal ASGI webhook endpoint that checks signatures the way a Xero app must."""

    def __init__(self, check_signature: bool = True, fail_first: int = 0) -> None:
        self.check_signature = check_signature
        self.fail_first = fail_first  # answer 500 to this many deliveries first (Xero must retry them)
        self.bodies: list[dict[str, Any]] = []
        self.raw: list[tuple[float, bytes, int]] = []  # (monotonic time, body, status answered)

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
        status = 200 if ok else 401
        if ok and self.fail_first > 0:
            self.fail_first -= 1
            status = 500
        elif ok:
            self.bodies.append(json.loads(body))
        self.raw.append((time.monotonic(), body, status))
        await send({"type": "http.response.start", "status": status, "headers": []})
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


def _wait_for(predicate: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert predicate()


def test_changes_made_in_a_moment_arrive_as_one_delivery_of_several_events_as_the_spec_has_it(
    make_sandbox,  # type: ignore[no-untyped-def]
    receiver,
) -> None:
    app, url = receiver
    sb = make_sandbox(webhook_url=url, webhook_key=KEY, webhook_auto=True, webhook_batch_seconds=0.5)
    org = sb.organisation()
    xero = sb.api(org.tenant_id)
    made = [xero.put("/Contacts", json={"Name": f"Batched {n}"}).json()["Contacts"][0] for n in range(3)]
    edited = next(iter(org.contacts))
    xero.post(f"/Contacts/{edited}", json={"ContactID": edited, "EmailAddress": "new@example.com"})
    _wait_for(lambda: app.bodies)
    time.sleep(0.3)  # nothing else is on its way
    (delivery,) = [check_webhook_delivery(body) for _, body, _ in app.raw]
    events = delivery["events"]
    assert {(e["resourceId"], e["eventType"]) for e in events} == {
        *((c["ContactID"], "CREATE") for c in made),
        (edited, "UPDATE"),
    }
    assert delivery["lastEventSequence"] - delivery["firstEventSequence"] + 1 == len(events) == 4
    assert len(delivery["entropy"]) == 20
    assert delivery["entropy"].isalpha()
    assert delivery["entropy"].isupper()


def test_event_sequences_run_on_from_one_delivery_to_the_next(make_sandbox, receiver) -> None:  # type: ignore[no-untyped-def]
    app, url = receiver
    sb = make_sandbox(webhook_url=url, webhook_key=KEY, webhook_batch_max_events=2)
    org = sb.organisation()
    control = sb.control()
    for contact_id in list(org.contacts)[:5]:
        spec = {"tenant_id": org.tenant_id, "category": "CONTACT", "resource_id": contact_id}
        control.post("/webhooks/events", json={**spec, "event_type": "UPDATE"})
    # Five deliveries of one event each (the control API sends at once).
    bodies = [check_webhook_delivery(body) for _, body, _ in app.raw]
    ranges = [(b["firstEventSequence"], b["lastEventSequence"]) for b in bodies]
    assert ranges == [(n, n) for n in range(1, 6)]
    entropies = {b["entropy"] for b in bodies}
    assert len(entropies) == 5  # fresh per delivery


def test_a_queued_burst_is_sent_in_deliveries_of_at_most_the_batch_size(make_sandbox, receiver) -> None:  # type: ignore[no-untyped-def]
    app, url = receiver
    sb = make_sandbox(webhook_url=url, webhook_key=KEY, webhook_batch_max_events=2)
    org = sb.organisation()
    for contact_id in list(org.contacts)[:5]:
        sb.handle.notify(org.tenant_id, "CONTACT", contact_id, "UPDATE")  # queued, not sent (not auto)
    answer = sb.control().post("/webhooks/flush").json()
    assert (answer["events"], answer["deliveries"], answer["status"]) == (5, 3, 200)
    bodies = [check_webhook_delivery(body) for _, body, _ in app.raw]
    assert [(b["firstEventSequence"], b["lastEventSequence"], len(b["events"])) for b in bodies] == [
        (1, 2, 2),
        (3, 4, 2),
        (5, 5, 1),
    ]


def test_a_delivery_without_a_200_is_sent_again_unchanged_with_a_growing_backoff(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    app = Receiver(fail_first=2)
    with serve_in_thread(app, lifespan="off") as server:
        sb = make_sandbox(
            webhook_url=server.base_url,
            webhook_key=KEY,
            webhook_auto=True,
            webhook_retry_seconds=(0.3, 0.9, 2.0),
        )
        org = sb.organisation()
        sb.api(org.tenant_id).put("/Contacts", json={"Name": "Retried"})
        _wait_for(lambda: app.bodies)
        time.sleep(0.5)
    assert [status for _, _, status in app.raw] == [500, 500, 200]
    assert len({body for _, body, _ in app.raw}) == 1  # the same payload: sequence and entropy too
    check_webhook_delivery(app.raw[0][1])
    gaps = [later[0] - earlier[0] for earlier, later in zip(app.raw, app.raw[1:], strict=False)]
    assert 0.25 <= gaps[0] < gaps[1]  # backoff grows
    listed = sb.control().get("/webhooks/deliveries").json()
    assert [(d["attempt"], d["status"]) for d in listed] == [(1, 500), (2, 500), (3, 200)]


def test_intent_to_receive_payloads_carry_no_events_and_sequence_zero(make_sandbox, receiver) -> None:  # type: ignore[no-untyped-def]
    app, url = receiver
    sb = make_sandbox(webhook_url=url, webhook_key=KEY)
    sb.control().post("/webhooks/intent-to-receive")
    (good,) = app.bodies  # the wrongly signed one was refused
    assert (good["events"], good["firstEventSequence"], good["lastEventSequence"]) == ([], 0, 0)
