"""Pull over HTTP: pages in version order, tombstones, resync, 304, gzip."""

from __future__ import annotations

import gzip
import uuid

import httpx

from server.core import feed
from server.db.database import Database
from tests.factories import customer, delete_entities, publish_entities, standard_mirror


async def test_a_first_pull_is_a_snapshot_with_a_cursor(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror(customers=2, products=1))
    body = (await mobile.get("/mobile/v1/changes")).json()
    assert [c["version"] for c in body["changes"]] == list(range(1, 9))
    assert body["cursor"] == 8
    assert body["has_more"] is False
    assert body["changes"][0]["record"]["entity"] == body["changes"][0]["entity"]


async def test_records_arrive_as_the_bytes_the_feed_holds(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, [customer(1, 'Ann "The" Plumber ☃')])
    raw = (await mobile.get("/mobile/v1/changes")).content
    assert b'"name":"Ann \\"The\\" Plumber \xe2\x98\x83"' in raw


async def test_pages_follow_each_other_without_gaps(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, [customer(n) for n in range(1, 8)])
    seen, cursor, has_more = [], 0, True
    while has_more:
        body = (await mobile.get("/mobile/v1/changes", params={"cursor": cursor, "limit": 3})).json()
        seen += [c["id"] for c in body["changes"]]
        cursor, has_more = body["cursor"], body["has_more"]
    assert seen == [customer(n).id for n in range(1, 8)]


async def test_an_edit_and_a_deletion_come_after_the_cursor(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, [customer(1), customer(2), customer(3)])
    cursor = (await mobile.get("/mobile/v1/changes")).json()["cursor"]
    await publish_entities(server_db, acme_id, [customer(2, "Bob renamed")])
    await delete_entities(server_db, acme_id, [("customer", customer(3).id)])
    body = (await mobile.get("/mobile/v1/changes", params={"cursor": cursor})).json()
    assert [(c["id"], c["record"] and c["record"]["name"]) for c in body["changes"]] == [
        (customer(2).id, "Bob renamed"),
        (customer(3).id, None),
    ]


async def test_a_pull_with_nothing_new_is_empty_and_keeps_the_cursor(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, [customer(1)])
    cursor = (await mobile.get("/mobile/v1/changes")).json()["cursor"]
    body = (await mobile.get("/mobile/v1/changes", params={"cursor": cursor})).json()
    assert body == {"changes": [], "cursor": cursor, "has_more": False}


async def test_the_etag_of_an_unchanged_answer_gets_304(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, [customer(1)])
    first = await mobile.get("/mobile/v1/changes", params={"cursor": 1})
    again = await mobile.get(
        "/mobile/v1/changes", params={"cursor": 1}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


async def test_a_new_change_invalidates_the_etag(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, [customer(1)])
    first = await mobile.get("/mobile/v1/changes", params={"cursor": 1})
    await publish_entities(server_db, acme_id, [customer(2)])
    again = await mobile.get(
        "/mobile/v1/changes", params={"cursor": 1}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 200
    assert [c["id"] for c in again.json()["changes"]] == [customer(2).id]


async def test_a_large_pull_is_gzipped_when_the_client_accepts_it(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, [customer(n) for n in range(1, 200)])
    async with mobile.stream("GET", "/mobile/v1/changes", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.headers["content-encoding"] == "gzip"
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert gzip.decompress(raw).startswith(b'{"changes":[')


async def test_a_cursor_below_the_horizon_must_resync(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, [customer(1), customer(2)])
    await delete_entities(server_db, acme_id, [("customer", customer(1).id)])
    async with server_db.transaction() as session:
        await feed.purge_tombstones(
            session, acme_id, older_than=feed.utcnow() + __import__("datetime").timedelta(1)
        )
    response = await mobile.get("/mobile/v1/changes", params={"cursor": 1})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "resync_required"
    assert error["details"] == {"cursor": 1, "horizon": 3, "latest": 3}


async def test_a_cursor_from_before_a_mirror_reset_must_resync(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, [customer(1)])
    async with server_db.transaction() as session:
        await feed.invalidate_cursors(session, acme_id)
    response = await mobile.get("/mobile/v1/changes", params={"cursor": 1})
    assert response.json()["error"]["code"] == "resync_required"


async def test_a_cursor_from_the_future_must_resync(mobile: httpx.AsyncClient) -> None:
    response = await mobile.get("/mobile/v1/changes", params={"cursor": 99})
    assert response.json()["error"]["code"] == "resync_required"


async def test_a_cursor_that_is_not_an_integer_is_refused_naming_it(mobile: httpx.AsyncClient) -> None:
    response = await mobile.get("/mobile/v1/changes", params={"cursor": "abc"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"][0]["field"] == "cursor"


async def test_an_unsupported_protocol_version_is_refused_with_the_supported_range(
    mobile: httpx.AsyncClient,
) -> None:
    response = await mobile.get("/mobile/v1/changes", headers={"X-Ledgersync-Protocol": "7"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unsupported_protocol_version"
    assert error["details"]["supported"] == {"min": 1, "max": 1}
