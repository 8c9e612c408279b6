"""Xero's webhooks reach ledgersync: verified, recorded, and turned into few, targeted pulls."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import httpx
import msgspec
from sqlalchemy import func, select

from server.app import create_app
from server.db.database import Database
from server.db.mirror_models import SyncRun, XeroWebhookEvent
from server.db.models import SyncRecord
from server.http.serving import ServerThread
from server.services.admins import AdminService
from server.settings import Settings
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.servers import ADMIN
from tests.fixtures.xero_connect import connect, fast, organisation_of, point_at, sync_and_wait
from tests.live.conftest import WEBHOOK_KEY, deliver, eventually, unprocessed_events, webhook_runs
from xero_sandbox.webhooks import event


async def customer_email(settings: Settings, organisation_id: uuid.UUID, xero_id: str) -> str | None:
    database = Database(settings.database_url)
    try:
        async with database.sessions() as session:
            payloads = await session.scalars(
                select(SyncRecord.payload).where(
                    SyncRecord.organisation_id == organisation_id, SyncRecord.entity == "customer"
                )
            )
            for payload in payloads:
                if payload is not None:
                    record = msgspec.json.decode(payload)
                    if record["xero_id"] == xero_id:
                        email: str | None = record.get("email")
                        return email
            return None
    finally:
        await database.close()


async def connected(admin: httpx.AsyncClient) -> uuid.UUID:
    await connect(admin)
    assert (await sync_and_wait(admin))["status"] == "succeeded"
    return await organisation_of(admin)


async def test_intent_to_receive_passes(live_sandbox: RunningSandbox, ledgersync: ServerThread) -> None:
    result = live_sandbox.control().post("/webhooks/intent-to-receive").json()

    assert result == {"invalid_signature_status": 401, "valid_signature_status": 200, "passed": True}
    deliveries = live_sandbox.control().get("/webhooks/deliveries").json()
    assert [d["status"] for d in deliveries] == [401, 200]


async def test_a_bad_signature_is_refused_with_an_empty_body_and_changes_nothing(
    live_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    ledgersync: ServerThread,
    settings: Settings,
) -> None:
    org = live_sandbox.organisation(contacts=3, items=1)
    organisation_id = await connected(admin_client)
    contact_id = next(iter(org.contacts)).lower()
    live_sandbox.handle.webhooks.url = None  # the edit below must reach ledgersync only as our forgery
    live_sandbox.control().post(
        f"/organisations/{org.tenant_id}/contacts/{contact_id}", json={"EmailAddress": "forged@example.com"}
    )
    named = [event(org.tenant_id, "CONTACT", contact_id, "UPDATE", live_sandbox.handle.now())]

    wrong_key = await deliver(ledgersync.base_url, named, key="not-the-webhook-key")
    async with httpx.AsyncClient(base_url=ledgersync.base_url) as http:
        unsigned = await http.post("/xero/webhooks", json={"events": named})
    await asyncio.sleep(1.0)  # a worker that took it would have pulled by now

    assert (wrong_key.status_code, wrong_key.content) == (401, b"")
    assert (unsigned.status_code, unsigned.content) == (401, b"")
    database = Database(settings.database_url)
    try:
        async with database.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(XeroWebhookEvent)) == 0
    finally:
        await database.close()
    assert await webhook_runs(settings, organisation_id) == []
    assert await customer_email(settings, organisation_id, contact_id) != "forged@example.com"


async def test_a_contact_edited_in_xero_is_pulled_by_its_id_in_one_call(
    live_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, settings: Settings
) -> None:
    org = live_sandbox.organisation(contacts=5, items=1)
    organisation_id = await connected(admin_client)
    contact_id = next(iter(org.contacts)).lower()
    control = live_sandbox.control()
    control.delete("/calls")

    control.post(
        f"/organisations/{org.tenant_id}/contacts/{contact_id}", json={"EmailAddress": "hooked@example.com"}
    )

    async def pulled() -> bool:
        return await customer_email(settings, organisation_id, contact_id) == "hooked@example.com"

    await eventually(pulled, what="the edited contact in the feed")
    (run,) = await webhook_runs(settings, organisation_id)
    assert (run.types, run.status, run.xero_calls, run.updated) == ("customers", "succeeded", 1, 1)
    assert control.get("/calls").json() == {"GET /api.xro/2.0/Contacts": 1}

    async def all_processed() -> bool:  # marked after the pull's commit, which the feed shows first
        return await unprocessed_events(settings) == 0

    await eventually(all_processed, what="the webhook's event marked processed")


async def test_a_burst_of_500_events_makes_a_handful_of_pulls(
    live_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    ledgersync: ServerThread,
    settings: Settings,
) -> None:
    org = live_sandbox.organisation(contacts=20, items=1)
    organisation_id = await connected(admin_client)
    contacts = [c.lower() for c in org.contacts]
    now = live_sandbox.handle.now()
    control = live_sandbox.control()
    control.delete("/calls")

    async def burst(n: int) -> httpx.Response:
        events = [
            event(org.tenant_id, "CONTACT", contacts[(n * 10 + i) % len(contacts)], "UPDATE", now)
            | {"eventDateUtc": f"2026-01-01T00:00:{n:02d}.{i:03d}"}
            for i in range(10)
        ]
        return await deliver(ledgersync.base_url, events, sequence=n * 10 + 1)

    answers = await asyncio.gather(*(burst(n) for n in range(50)))

    assert {answer.status_code for answer in answers} == {200}

    async def drained() -> bool:
        return await unprocessed_events(settings) == 0

    await eventually(drained, what="every event pulled")
    runs = await webhook_runs(settings, organisation_id)
    assert 1 <= len(runs) <= 5, [(r.started_at, r.fetched) for r in runs]
    assert all(run.status == "succeeded" for run in runs)
    calls = control.get("/calls").json()
    assert set(calls) == {"GET /api.xro/2.0/Contacts"}
    assert calls["GET /api.xro/2.0/Contacts"] == sum(run.xero_calls for run in runs) <= 5


async def test_an_event_during_a_running_pull_is_not_lost(
    live_sandbox: RunningSandbox, admin_client: httpx.AsyncClient, settings: Settings
) -> None:
    org = live_sandbox.organisation(contacts=5, items=1)
    organisation_id = await connected(admin_client)
    first, second = (c.lower() for c in list(org.contacts)[:2])
    control = live_sandbox.control()
    # The first webhook pull's one call takes 2 s: the second edit lands while it runs.
    control.post(
        "/faults", json={"kind": "latency", "route": "GET /api.xro/2.0/Contacts*", "count": 1, "seconds": 2}
    )
    control.post(f"/organisations/{org.tenant_id}/contacts/{first}", json={"EmailAddress": "one@example.com"})

    async def running() -> bool:
        return any(run.status == "running" for run in await webhook_runs(settings, organisation_id))

    await eventually(running, what="the first webhook pull running")
    control.post(
        f"/organisations/{org.tenant_id}/contacts/{second}", json={"EmailAddress": "two@example.com"}
    )

    async def both() -> bool:
        return (
            await customer_email(settings, organisation_id, first) == "one@example.com"
            and await customer_email(settings, organisation_id, second) == "two@example.com"
        )

    await eventually(both, what="both edits in the feed")
    runs = await webhook_runs(settings, organisation_id)
    assert len(runs) == 2
    assert all(isinstance(run, SyncRun) and run.status == "succeeded" for run in runs)


async def test_a_retried_delivery_is_processed_once(
    live_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    ledgersync: ServerThread,
    settings: Settings,
) -> None:
    org = live_sandbox.organisation(contacts=3, items=1)
    organisation_id = await connected(admin_client)
    contact_id = next(iter(org.contacts)).lower()
    named = [event(org.tenant_id, "CONTACT", contact_id, "UPDATE", live_sandbox.handle.now())]
    assert (await deliver(ledgersync.base_url, named)).status_code == 200

    async def one_run() -> bool:
        runs = await webhook_runs(settings, organisation_id)
        return len(runs) == 1 and runs[0].finished_at is not None

    await eventually(one_run, what="the delivery pulled")
    assert (await deliver(ledgersync.base_url, named)).status_code == 200  # Xero's retry: same events
    await asyncio.sleep(1.0)

    assert len(await webhook_runs(settings, organisation_id)) == 1


async def test_a_delivery_ledgersync_did_not_answer_is_retried_by_xero_and_processed_once(
    make_sandbox: Callable[..., RunningSandbox], settings: Settings, port: int
) -> None:
    sandbox = make_sandbox(
        auto_consent=True,
        webhook_url=f"http://127.0.0.1:{port}/xero/webhooks",
        webhook_key=WEBHOOK_KEY,
        webhook_auto=True,
        webhook_retry_seconds=(0.5, 1.0, 2.0, 4.0),
    )
    settings = point_at(settings, sandbox, port).replace(
        xero_webhook_key=WEBHOOK_KEY, webhook_coalesce_seconds=0.2
    )
    org = sandbox.organisation(contacts=3, items=1)
    database = Database(settings.database_url)
    try:
        await database.migrate()
        await AdminService(database).create_admin(ADMIN.email, ADMIN.password, ADMIN.organisation)
    finally:
        await database.close()
    with ServerThread(fast(create_app(settings)), port=port) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as admin:
            session = await admin.post(
                "/admin/api/session", json={"email": ADMIN.email, "password": ADMIN.password}
            )
            admin.headers["Authorization"] = f"Bearer {session.json()['token']}"
            organisation_id = await connected(admin)
    contact_id = next(iter(org.contacts)).lower()

    # ledgersync is down: the delivery of this edit finds nobody, and Xero will try again.
    sandbox.control().post(
        f"/organisations/{org.tenant_id}/contacts/{contact_id}", json={"EmailAddress": "retried@example.com"}
    )

    async def first_attempt_unanswered() -> bool:
        deliveries = sandbox.control().get("/webhooks/deliveries").json()
        return any(d["body"]["events"] and d["status"] is None for d in deliveries)

    # Only once Xero's first attempt found nobody does ledgersync come up (the sandbox batches for a moment).
    await eventually(first_attempt_unanswered, what="the first delivery attempted")
    with ServerThread(fast(create_app(settings)), port=port):

        async def pulled() -> bool:
            return await customer_email(settings, organisation_id, contact_id) == "retried@example.com"

        await eventually(pulled, what="the retried delivery pulled")
        await asyncio.sleep(1.5)  # no further attempt after the 200, no second pull
        deliveries = sandbox.control().get("/webhooks/deliveries").json()

    edits = [d for d in deliveries if d["body"]["events"]]
    assert edits[0]["status"] is None
    assert edits[0]["attempt"] == 1
    assert edits[-1]["status"] == 200
    assert [d["status"] for d in edits].count(200) == 1
    assert {d["body"]["entropy"] for d in edits} == {edits[0]["body"]["entropy"]}  # the same body each time
    (run,) = await webhook_runs(settings, organisation_id)
    assert run.status == "succeeded"
