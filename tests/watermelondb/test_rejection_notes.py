"""Rejection notes are per device: two devices holding refused edits of one record each keep their
own, and a quiet organisation's feed stops moving however often they sync."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from server.db.database import Database
from server.http.serving import ServerThread
from tests.factories import customer, publish_entities, standard_mirror
from tests.fixtures.devices import PairDevice
from tests.watermelondb.test_endpoints import an_invoice, empty, new_id, pull, push


@pytest.fixture
async def two_devices(
    ledgersync: ServerThread, pair_device: PairDevice
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    first, second = await pair_device("Sam Field"), await pair_device("Alex Field")
    async with (
        httpx.AsyncClient(base_url=ledgersync.base_url, headers=first.headers, timeout=30) as a,
        httpx.AsyncClient(base_url=ledgersync.base_url, headers=second.headers, timeout=30) as b,
    ):
        yield a, b


def edited(invoice_id: str, total: str) -> dict[str, Any]:
    header, lines = an_invoice(invoice_id, customer(1).id, total=total)
    header["_status"] = "updated"
    return {"invoices": {**empty(), "updated": [header]}, "invoice_lines": {**empty(), "updated": lines}}


async def test_two_devices_with_refused_edits_of_one_invoice_each_keep_their_note_and_the_feed_stays_still(
    two_devices: tuple[httpx.AsyncClient, httpx.AsyncClient], server_db: Database, acme_id: uuid.UUID
) -> None:
    a, b = two_devices
    await publish_entities(server_db, acme_id, standard_mirror())
    invoice_id = new_id()
    header, lines = an_invoice(invoice_id, customer(1).id)
    first = await pull(a)
    created = {"invoices": {**empty(), "created": [header]}, "invoice_lines": {**empty(), "created": lines}}
    assert (await push(a, first["timestamp"], created)).json()["rejections"] == []
    refused = {a: edited(invoice_id, "999.99"), b: edited(invoice_id, "888.88")}
    pulled: dict[httpx.AsyncClient, int | None] = {a: None, b: None}

    versions = []
    for _ in range(4):  # a sync each, in turn: pull, then push the refused edit again
        for device in (a, b):
            body = await pull(device, pulled[device])
            pulled[device] = body["timestamp"]
            answer = await push(device, body["timestamp"], refused[device])
            assert answer.status_code == 200, answer.text
            assert answer.json()["experimentalRejectedIds"]["invoices"] == [invoice_id]
        versions.append((await pull(a, pulled[a]))["timestamp"])

    assert versions[1:] == [versions[0]] * 3
    for device, total in ((a, "999.99"), (b, "888.88")):
        [row] = (await pull(device, first["timestamp"]))["changes"]["invoices"]["updated"]
        assert (row["sync_state"], row["sync_code"]) == ("rejected", "totals_mismatch")
        assert total in row["sync_message"]
    cursor = versions[-1] - 1
    caught_up = await a.get("/mobile/v1/changes", params={"cursor": cursor})
    await push(b, versions[-1], refused[b])
    again = await a.get(
        "/mobile/v1/changes", params={"cursor": cursor}, headers={"If-None-Match": caught_up.headers["etag"]}
    )
    assert again.status_code == 304


async def test_a_line_deleted_in_a_refused_invoice_edit_comes_back_to_the_app_in_created(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    invoice_id = new_id()
    header, [line] = an_invoice(invoice_id, customer(1).id, total="229.78")
    second = {**line, "id": f"line{invoice_id[:8]}b", "position": 1}
    header.update(sub_total="199.80", total_tax="29.98")
    first = await pull(mobile)
    created = {
        "invoices": {**empty(), "created": [header]},
        "invoice_lines": {**empty(), "created": [line, second]},
    }
    assert (await push(mobile, first["timestamp"], created)).json()["rejections"] == []
    after = await pull(mobile, first["timestamp"])

    # The app deletes the second line, but its new totals are wrong: the whole edit is refused.
    edit = {**header, "_status": "updated", "sub_total": "99.90", "total_tax": "14.99", "total": "999.99"}
    refused = {
        "invoices": {**empty(), "updated": [edit]},
        "invoice_lines": {**empty(), "deleted": [second["id"]]},
    }
    answer = (await push(mobile, after["timestamp"], refused)).json()
    assert answer["experimentalRejectedIds"] == {"invoices": [invoice_id], "invoice_lines": [second["id"]]}

    changes = (await pull(mobile, after["timestamp"]))["changes"]
    assert [row["id"] for row in changes["invoice_lines"]["created"]] == [second["id"]]
    assert changes["invoice_lines"]["deleted"] == []
    [row] = changes["invoices"]["updated"]
    assert (row["sync_state"], row["sync_code"]) == ("rejected", "totals_mismatch")
