"""Phones holding the poke stream learn within seconds that their organisation's feed moved."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal

import httpx
import msgspec
import pytest

from reference_client.phone import Line
from server.app import create_app
from server.http.serving import ServerThread
from server.settings import Settings
from sync_protocol.entities import Invoice
from tests.factories import documented_push
from tests.fixtures.devices import NewPhone, PairDevice, PairedDevice
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import connect, free_port, organisation_of, sync_and_wait
from tests.forwarding.conftest import settle
from tests.live.conftest import eventually, webhook_runs


@dataclass
class Event:
    kind: str  # "poke", "heartbeat" or "revoked"
    id: int | None = None
    data: str = ""


class PokeStream:
    """An SSE reader over an httpx streamed response."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, within: float = 10.0) -> Event:
        return await asyncio.wait_for(self._read(), within)

    async def _read(self) -> Event:
        fields: dict[str, str] = {}
        comment = False
        async for line in self._lines:
            if line == "":
                if "event" in fields:
                    event_id = int(fields["id"]) if "id" in fields else None
                    return Event(fields["event"], event_id, fields.get("data", ""))
                if comment:
                    return Event("heartbeat")
                fields, comment = {}, False  # a retry: block
                continue
            if line.startswith(":"):
                comment = True
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        raise EOFError("the stream ended")

    async def poke(self, within: float = 10.0) -> Event:
        """The next poke, skipping heartbeats."""
        return await self.poke_or((), within)

    async def poke_or(self, kinds: tuple[str, ...], within: float = 10.0) -> Event:
        """The next event of one of ``kinds`` (a poke if none), skipping heartbeats (and pokes if kinds)."""
        deadline = time.monotonic() + within
        while True:
            event = await self.next(max(0.01, deadline - time.monotonic()))
            if event.kind in (kinds or ("poke",)):
                return event


@asynccontextmanager
async def poke_stream(
    base_url: str, device: PairedDevice, last_event_id: int | None = None
) -> AsyncIterator[PokeStream]:
    headers = {**device.headers, "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(30, read=60)) as http,
        http.stream("GET", "/mobile/v1/pokes", headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield PokeStream(response)


async def pull(base_url: str, device: PairedDevice, cursor: int) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=base_url, headers=device.headers, timeout=30) as http:
        response = await http.get("/mobile/v1/changes", params={"cursor": cursor})
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body


async def connected(admin: httpx.AsyncClient) -> uuid.UUID:
    await connect(admin)
    assert (await sync_and_wait(admin))["status"] == "succeeded"
    return await organisation_of(admin)


async def test_a_contact_edited_in_xero_reaches_a_phone_holding_the_poke_stream_within_seconds(
    live_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    ledgersync: ServerThread,
    pair_device: PairDevice,
) -> None:
    org = live_sandbox.organisation(contacts=5, items=1)
    await connected(admin_client)
    phone = await pair_device()
    snapshot = await pull(ledgersync.base_url, phone, 0)
    contact_id = next(iter(org.contacts)).lower()

    async with poke_stream(ledgersync.base_url, phone) as stream:
        first = await stream.poke()
        assert first.id == snapshot["cursor"]
        assert first.data == f'{{"version":{first.id}}}'
        started = time.monotonic()
        live_sandbox.control().post(
            f"/organisations/{org.tenant_id}/contacts/{contact_id}", json={"EmailAddress": "live@example.com"}
        )
        poked = await stream.poke(within=5)
        elapsed = time.monotonic() - started

    assert poked.id is not None
    assert first.id is not None
    assert poked.id > first.id
    assert elapsed < 5, elapsed
    changes = await pull(ledgersync.base_url, phone, int(str(snapshot["cursor"])))
    emails = [c["record"]["email"] for c in changes["changes"] if c["entity"] == "customer"]  # type: ignore[attr-defined, index]
    assert emails == ["live@example.com"]


async def test_a_dropped_stream_reconnecting_with_last_event_id_learns_of_a_change_made_while_away(
    live_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    ledgersync: ServerThread,
    settings: Settings,
    pair_device: PairDevice,
) -> None:
    org = live_sandbox.organisation(contacts=5, items=1)
    organisation_id = await connected(admin_client)
    phone = await pair_device()
    async with poke_stream(ledgersync.base_url, phone) as stream:
        last = (await stream.poke()).id
    assert last is not None

    async with poke_stream(ledgersync.base_url, phone, last_event_id=last) as stream:
        assert (await stream.next(within=5)).kind == "heartbeat"  # nothing moved: no poke on reconnect

    contact_id = next(iter(org.contacts)).lower()
    live_sandbox.control().post(
        f"/organisations/{org.tenant_id}/contacts/{contact_id}", json={"EmailAddress": "away@example.com"}
    )

    async def pulled() -> bool:
        runs = await webhook_runs(settings, organisation_id)
        return bool(runs) and runs[-1].finished_at is not None

    await eventually(pulled, what="the webhook pull done while no stream was open")

    async with poke_stream(ledgersync.base_url, phone, last_event_id=last) as stream:
        started = time.monotonic()
        poked = await stream.next(within=5)
        assert time.monotonic() - started < 1.0  # at once, not at a heartbeat
    assert poked.kind == "poke"
    assert poked.id is not None
    assert poked.id > last


async def test_the_long_poll_answers_when_the_feed_moves_or_when_the_wait_is_over(
    live_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    ledgersync: ServerThread,
    pair_device: PairDevice,
) -> None:
    org = live_sandbox.organisation(contacts=5, items=1)
    await connected(admin_client)
    phone = await pair_device()
    async with httpx.AsyncClient(base_url=ledgersync.base_url, headers=phone.headers, timeout=30) as http:
        now = (await http.get("/mobile/v1/pokes", params={"wait": 0})).json()
        assert now["moved"] is False
        started = time.monotonic()
        idle = (await http.get("/mobile/v1/pokes", params={"wait": 1, "after": now["version"]})).json()
        assert idle == {"version": now["version"], "moved": False}
        assert time.monotonic() - started >= 0.9

        waiting = asyncio.create_task(
            http.get("/mobile/v1/pokes", params={"wait": 20, "after": now["version"]})
        )
        await asyncio.sleep(0.3)
        contact_id = next(iter(org.contacts)).lower()
        live_sandbox.control().post(
            f"/organisations/{org.tenant_id}/contacts/{contact_id}", json={"EmailAddress": "poll@example.com"}
        )
        moved = (await asyncio.wait_for(waiting, 10)).json()

    assert moved["moved"] is True
    assert moved["version"] > now["version"]


async def test_an_uploads_fate_in_xero_pokes_the_phone(
    live_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    ledgersync: ServerThread,
    pair_device: PairDevice,
) -> None:
    live_sandbox.organisation(contacts=2, items=1)
    await connected(admin_client)
    phone = await pair_device()
    customer = documented_push()[0]
    customer = {
        **customer,
        "mutation_id": str(uuid.uuid4()),
        "customer": {**customer["customer"], "id": str(uuid.uuid4())},
    }

    async with poke_stream(ledgersync.base_url, phone) as stream:
        cursor = (await stream.poke()).id
        assert cursor is not None
        async with httpx.AsyncClient(base_url=ledgersync.base_url, headers=phone.headers, timeout=30) as http:
            pushed = await http.post("/mobile/v1/mutations", json={"mutations": [customer]})
            assert pushed.status_code == 200, pushed.text

        async def in_xero() -> bool:
            await stream.poke(within=10)
            changes = (await pull(ledgersync.base_url, phone, cursor))["changes"]
            return any(
                c["id"] == customer["customer"]["id"] and c["record"]["xero_id"]  # type: ignore[index]
                for c in changes  # type: ignore[attr-defined]
            )

        await eventually(in_xero, seconds=20, what="the customer's fate (its Xero id) poked and pulled")


async def test_with_two_server_processes_on_postgresql_a_change_through_one_pokes_phones_on_the_other(
    admin_client: httpx.AsyncClient,
    ledgersync: ServerThread,
    settings: Settings,
    pair_device: PairDevice,
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("across processes is PostgreSQL's LISTEN/NOTIFY; SQLite serves one process")
    phone = await pair_device()
    # The other process: its own app, hub and listening connection on the same database. Its
    # heartbeats are far apart, so only the notification can poke in time.
    other_settings = settings.replace(port=free_port(), poke_heartbeat_seconds=60)
    with ServerThread(create_app(other_settings), port=other_settings.port) as other:
        async with poke_stream(other.base_url, phone) as stream:
            cursor = (await stream.poke()).id
            assert cursor is not None
            customer = documented_push()[0]
            customer = {
                **customer,
                "mutation_id": str(uuid.uuid4()),
                "customer": {**customer["customer"], "id": str(uuid.uuid4())},
            }
            started = time.monotonic()
            async with httpx.AsyncClient(
                base_url=ledgersync.base_url, headers=phone.headers, timeout=30
            ) as http:
                pushed = await http.post("/mobile/v1/mutations", json={"mutations": [customer]})
                assert pushed.status_code == 200, pushed.text

            poked = await stream.poke(within=5)

        assert poked.id is not None
        assert poked.id > cursor
        assert time.monotonic() - started < 3


async def test_an_invoice_paid_and_another_voided_in_xero_reach_a_phone_holding_the_poke_stream(
    live_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    ledgersync: ServerThread,
    settings: Settings,
    new_phone: NewPhone,
) -> None:
    org = live_sandbox.organisation(contacts=3, items=1)
    organisation_id = await connected(admin_client)
    phone = await new_phone()
    await phone.refresh()
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    paid_id, voided_id = (
        phone.create_invoice(customer, [Line("1", amount, tax_type="OUTPUT2", account_code="200")])
        for amount in ("100.00", "40.00")
    )
    await phone.upload()
    await settle(admin_client)

    def in_xero(record_id: str) -> str:
        [invoice] = [
            i for i in org.invoices.values() if str(i.get("Url", "")).endswith(f"/admin/invoices/{record_id}")
        ]
        return str(invoice["InvoiceID"])

    await phone.refresh()
    device = PairedDevice("", str(phone.token), organisation_id)

    async def status_after_pokes(stream: PokeStream, invoice_id: str, status: str) -> float:
        started = time.monotonic()
        while True:
            await stream.poke(within=5)
            await phone.refresh()
            record = msgspec.json.decode(phone.store.record("invoice", invoice_id) or b"", type=Invoice)
            if record.status == status:
                return time.monotonic() - started

    async with poke_stream(ledgersync.base_url, device) as stream:
        await stream.poke()  # the current version
        live_sandbox.handle.user_record_payment(org.tenant_id, in_xero(paid_id), Decimal("115.00"))
        paid_in = await asyncio.wait_for(status_after_pokes(stream, paid_id, "PAID"), 10)
        live_sandbox.handle.user_void_invoice(org.tenant_id, in_xero(voided_id))
        voided_in = await asyncio.wait_for(status_after_pokes(stream, voided_id, "VOIDED"), 10)

    assert paid_in < 5
    assert voided_in < 5
    runs = [run for run in await webhook_runs(settings, organisation_id) if "invoices" in run.types]
    assert runs
    # One IDs read per coalesced batch, and one read of the payments (Xero sends no payment events).
    assert all(run.xero_calls <= 2 for run in runs), [(run.types, run.xero_calls) for run in runs]


async def test_a_device_revoked_while_holding_the_stream_is_told_so_and_the_stream_ends(
    live_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    ledgersync: ServerThread,
    settings: Settings,
    pair_device: PairDevice,
) -> None:
    live_sandbox.organisation(contacts=2, items=1)
    await connected(admin_client)
    phone, other = await pair_device(), await pair_device()
    async with (
        poke_stream(ledgersync.base_url, phone) as stream,
        poke_stream(ledgersync.base_url, other) as kept,
    ):
        await stream.poke()
        await kept.poke()
        assert (await stream.next(within=5)).kind == "heartbeat"
        revoked = await admin_client.post(f"/admin/api/devices/{phone.device_id}/revoke")
        assert revoked.status_code in (200, 204), revoked.text
        started = time.monotonic()
        last = await stream.poke_or(kinds=("revoked",), within=5)
        took = time.monotonic() - started
        assert last == Event("revoked", None, '{"code":"device_revoked"}')
        with pytest.raises(EOFError):
            await stream.next(within=5)
        assert (await kept.next(within=5)).kind == "heartbeat"  # the other device's stream stays open
    assert took <= settings.poke_heartbeat_seconds + 1.0  # at the next heartbeat

    async with httpx.AsyncClient(base_url=ledgersync.base_url, timeout=10) as http:
        again = await http.get("/mobile/v1/pokes", headers={**phone.headers, "Accept": "text/event-stream"})
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "device_revoked"


async def test_a_revoked_device_busy_with_pokes_is_still_checked_each_heartbeat_interval(
    live_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    ledgersync: ServerThread,
    pair_device: PairDevice,
) -> None:
    """A feed moving faster than the heartbeat never lets a heartbeat through; pokes check instead."""
    live_sandbox.organisation(contacts=2, items=1)
    await connected(admin_client)
    phone = await pair_device()
    pusher = await pair_device()

    async def keep_moving() -> None:
        # Pushes by another device keep the feed moving every 0.2 s (heartbeat: 0.5 s).
        async with httpx.AsyncClient(
            base_url=ledgersync.base_url, headers=pusher.headers, timeout=30
        ) as http:
            while True:
                customer = documented_push()[0]
                customer = {
                    **customer,
                    "mutation_id": str(uuid.uuid4()),
                    "customer": {**customer["customer"], "id": str(uuid.uuid4())},
                }
                await http.post("/mobile/v1/mutations", json={"mutations": [customer]})
                await asyncio.sleep(0.2)

    async with poke_stream(ledgersync.base_url, phone) as stream:
        await stream.poke()
        moving = asyncio.create_task(keep_moving())
        try:
            await stream.poke()
            await stream.poke()  # the pokes are flowing
            assert (await admin_client.post(f"/admin/api/devices/{phone.device_id}/revoke")).is_success
            last = await stream.poke_or(kinds=("revoked",), within=5)
        finally:
            moving.cancel()
    assert last.kind == "revoked"


async def test_the_reference_phones_watch_ends_when_its_device_is_revoked(
    live_sandbox: RunningSandbox,
    admin_client: httpx.AsyncClient,
    ledgersync: ServerThread,
    new_phone: NewPhone,
) -> None:
    live_sandbox.organisation(contacts=2, items=1)
    await connected(admin_client)
    phone = await new_phone(staff_name="Revoked Watcher")
    pokes = phone.pokes()
    await asyncio.wait_for(anext(pokes), 10)  # the current version: the stream is open
    [device] = [
        d
        for d in (await admin_client.get("/admin/api/devices")).json()
        if d["staff_name"] == "Revoked Watcher"
    ]
    assert (await admin_client.post(f"/admin/api/devices/{device['id']}/revoke")).is_success
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await asyncio.wait_for(anext(pokes), 10)
    assert refused.value.response.status_code == 401
