"""Guessing pairing codes is slowed down per client address; pairing with good codes is not."""

from __future__ import annotations

import httpx
import pytest

from server.core.crypto import new_key_text
from server.settings import Settings
from tests.fixtures.devices import PROTOCOL
from tests.mobile_api.test_pairing import issue_code

WRONG = {"code": "AAAAA-AAAAA", "device_name": "Guesser"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=new_key_text(),
        log_level="WARNING",
        pairing_failures_per_minute=3,
    )


async def test_an_address_that_keeps_sending_wrong_codes_is_told_to_wait(client: httpx.AsyncClient) -> None:
    statuses = [
        (await client.post("/mobile/v1/pair", json=WRONG, headers=PROTOCOL)).status_code for _ in range(3)
    ]
    refused = await client.post("/mobile/v1/pair", json=WRONG, headers=PROTOCOL)

    assert statuses == [401, 401, 401]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1


async def test_pairings_with_good_codes_do_not_count_against_the_address(
    admin_client: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    codes = [await issue_code(admin_client, f"Staff {n}") for n in range(5)]
    statuses = [
        (await client.post("/mobile/v1/pair", json={"code": code}, headers=PROTOCOL)).status_code
        for code in codes
    ]
    assert statuses == [201] * 5
