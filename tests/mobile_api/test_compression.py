"""Pull answers are compressed as the client's Accept-Encoding allows: zstd preferred, then gzip."""

from __future__ import annotations

import gzip
import uuid

import httpx
import pytest
import zstandard

from mobile_api.compression import negotiate
from server.db.database import Database
from tests.factories import customer, publish_entities


async def raw_pull(mobile: httpx.AsyncClient, accept_encoding: str | None) -> tuple[httpx.Headers, bytes]:
    """Status-200 answer's headers and body exactly as sent (not decoded by httpx)."""
    headers = {"Accept-Encoding": accept_encoding} if accept_encoding is not None else {"Accept-Encoding": ""}
    async with mobile.stream("GET", "/mobile/v1/changes", headers=headers) as response:
        assert response.status_code == 200
        return response.headers, b"".join([chunk async for chunk in response.aiter_raw()])


def unzstd(body: bytes) -> bytes:
    return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(body))


async def test_a_client_that_accepts_zstd_gets_zstd_that_decodes_to_the_identity_answer(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    # 1,500 records: several streamed chunks, large enough to be compressed off the event loop.
    await publish_entities(server_db, acme_id, [customer(n) for n in range(1, 1501)])
    plain_headers, plain = await raw_pull(mobile, None)
    headers, body = await raw_pull(mobile, "gzip, deflate, br, zstd")

    assert "content-encoding" not in plain_headers
    assert headers["content-encoding"] == "zstd"
    assert "accept-encoding" in headers["vary"].lower()
    assert unzstd(body) == plain
    assert len(body) < len(plain) / 4


async def test_a_client_that_accepts_only_gzip_gets_gzip(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, [customer(n) for n in range(1, 1501)])
    _, plain = await raw_pull(mobile, None)
    headers, body = await raw_pull(mobile, "gzip")

    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == plain


async def test_httpx_with_zstandard_installed_reads_the_zstd_answer_transparently(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, [customer(n) for n in range(1, 30)])
    response = await mobile.get("/mobile/v1/changes", headers={"Accept-Encoding": "zstd"})

    assert response.headers["content-encoding"] == "zstd"
    assert [c["id"] for c in response.json()["changes"]] == [customer(n).id for n in range(1, 30)]


async def test_an_empty_page_is_sent_uncompressed_whatever_the_client_accepts(
    mobile: httpx.AsyncClient, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, [customer(1)])
    cursor = (await mobile.get("/mobile/v1/changes")).json()["cursor"]
    response = await mobile.get(
        "/mobile/v1/changes", params={"cursor": cursor}, headers={"Accept-Encoding": "zstd, gzip"}
    )

    assert "content-encoding" not in response.headers
    assert response.json() == {"changes": [], "cursor": cursor, "has_more": False}


@pytest.mark.parametrize(
    ("accept_encoding", "chosen"),
    [
        (None, "identity"),
        ("", "identity"),
        ("identity", "identity"),
        ("gzip", "gzip"),
        ("zstd", "zstd"),
        ("gzip, zstd", "zstd"),
        ("ZSTD;q=1.0, gzip", "zstd"),
        ("zstd;q=0.5, gzip", "gzip"),
        ("zstd;q=0, gzip;q=0", "identity"),
        ("br, deflate", "identity"),
        ("*", "zstd"),
        ("*;q=0.1, gzip", "gzip"),
        ("gzip;q=bogus, zstd;q=0", "identity"),
    ],
)
def test_negotiation_follows_q_values_and_prefers_zstd_on_a_tie(
    accept_encoding: str | None, chosen: str
) -> None:
    assert negotiate(accept_encoding) == chosen
