"""Refreshing rotating tokens: single-flight across coroutines and across processes (two app stacks)."""

from __future__ import annotations

import asyncio

import pytest

from server.core.crypto import SecretBox
from server.db.database import Database
from server.settings import Settings
from server.xero import wire
from server.xero.errors import AuthError, NeedsReconnect
from server.xero.rate_limit import LimitPolicy
from server.xero_link.access import XeroAccess
from server.xero_link.tokens import CONNECTED
from tests.factories import make_organisation
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import FAST_RETRY, bind_connection, point_at

# The limiter is not under test here: it would rightly hold these workers to 59 calls a minute.
UNLIMITED = LimitPolicy(per_minute=100_000)


@pytest.fixture
def short_token_sandbox(make_sandbox) -> RunningSandbox:  # type: ignore[no-untyped-def]
    # 30-second access tokens at 60x: they die twice a real second. No grace period, so reusing a
    # rotated refresh token fails at once with invalid_grant instead of being forgiven.
    return make_sandbox(access_token_seconds=30, refresh_grace_seconds=0)  # type: ignore[no-any-return]


async def test_two_processes_hammering_with_30_second_tokens_never_hit_invalid_grant(
    short_token_sandbox: RunningSandbox, database: Database, settings: Settings
) -> None:
    sandbox = short_token_sandbox
    org = sandbox.organisation(contacts=1, items=1)
    sandbox.handle.register_client("ledgersync-mirror", "ledgersync-mirror-secret", ("http://x/cb",))
    config = point_at(settings, sandbox, 1)
    secrets = SecretBox.from_text(config.secret_key)
    # Two "processes": separate engines, token stores, locks and HTTP pools on one database.
    first = XeroAccess(config, database, secrets, limits=UNLIMITED, retry=FAST_RETRY)
    second_db = Database(config.database_url)
    second = XeroAccess(config, second_db, secrets, limits=UNLIMITED, retry=FAST_RETRY)
    organisation_id = await make_organisation(database)
    tokens = sandbox.handle.identity.token_response(
        sandbox.handle.grant_tokens("ledgersync-mirror", [org.tenant_id])
    )
    await bind_connection(first, database, organisation_id, org.tenant_id, tokens)

    async def worker(access: XeroAccess) -> int:
        client = await access.client_for(organisation_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.5
        while loop.time() < deadline:
            await client.get("/Organisation", wire.Organisations)
            await asyncio.sleep(0.05)
        return client.calls

    try:
        calls = await asyncio.gather(*(worker(a) for a in (first, second) for _ in range(4)))
        info = await first.tokens.info(organisation_id)
    finally:
        await first.close()
        await second.close()
        await second_db.close()

    assert info is not None
    assert info.status == CONNECTED
    refreshes = first.tokens.refreshes + second.tokens.refreshes
    assert refreshes >= 2  # tokens really expired and were replaced along the way
    assert sum(calls) > 8


async def test_concurrent_refreshers_of_one_stale_token_refresh_once(
    short_token_sandbox: RunningSandbox, database: Database, settings: Settings
) -> None:
    sandbox = short_token_sandbox
    org = sandbox.organisation(contacts=1, items=1)
    sandbox.handle.register_client("ledgersync-mirror", "ledgersync-mirror-secret", ("http://x/cb",))
    config = point_at(settings, sandbox, 1)
    access = XeroAccess(config, database, SecretBox.from_text(config.secret_key))
    organisation_id = await make_organisation(database)
    tokens = sandbox.handle.identity.token_response(
        sandbox.handle.grant_tokens("ledgersync-mirror", [org.tenant_id])
    )
    await bind_connection(access, database, organisation_id, org.tenant_id, tokens)
    try:
        # expires_in is real seconds, and these tokens live half a real second: current() may already
        # have refreshed ahead of expiry. What counts is what the ten concurrent refreshers do.
        stale = await access.tokens.current(organisation_id)
        before = access.tokens.refreshes
        fresh = await asyncio.gather(*(access.tokens.refreshed(organisation_id, stale) for _ in range(10)))
    finally:
        await access.close()

    assert access.tokens.refreshes - before == 1
    assert len({token.value for token in fresh}) == 1


async def test_time_scaled_tokens_are_refreshed_ahead_of_expiry_without_a_401(
    make_sandbox,
    database: Database,
    settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    # 3-minute tokens at 60x live 3 real seconds, and expires_in says 3: ledgersync refreshes before
    # they die, so no call is ever answered 401 (before expires_in was in real seconds it said 180).
    sandbox: RunningSandbox = make_sandbox(access_token_seconds=180)
    org = sandbox.organisation(contacts=1, items=1)
    sandbox.handle.register_client("ledgersync-mirror", "ledgersync-mirror-secret", ("http://x/cb",))
    config = point_at(settings, sandbox, 1)
    access = XeroAccess(
        config, database, SecretBox.from_text(config.secret_key), limits=UNLIMITED, retry=FAST_RETRY
    )
    organisation_id = await make_organisation(database)
    tokens = sandbox.handle.identity.token_response(
        sandbox.handle.grant_tokens("ledgersync-mirror", [org.tenant_id])
    )
    assert tokens["expires_in"] in (2, 3)
    await bind_connection(access, database, organisation_id, org.tenant_id, tokens)
    gets = 0
    try:
        client = await access.client_for(organisation_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while loop.time() < deadline:
            await client.get("/Organisation", wire.Organisations)
            gets += 1
            await asyncio.sleep(0.1)
    finally:
        await access.close()

    assert access.tokens.refreshes >= 1
    assert client.calls == gets  # a 401 would have cost a second request (refresh, then again)


async def test_tokens_that_expire_in_flight_are_refreshed_and_never_mark_the_connection_lost(
    make_sandbox,
    database: Database,
    settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    # Tokens dead on arrival: every call is answered TokenExpired however fresh the token. The grant
    # is fine, so the connection stays connected (a reconnect would not help); the call fails as an
    # auth error the caller retries later.
    sandbox: RunningSandbox = make_sandbox(access_token_seconds=0)
    org = sandbox.organisation(contacts=1, items=1)
    sandbox.handle.register_client("ledgersync-mirror", "ledgersync-mirror-secret", ("http://x/cb",))
    config = point_at(settings, sandbox, 1)
    access = XeroAccess(
        config, database, SecretBox.from_text(config.secret_key), limits=UNLIMITED, retry=FAST_RETRY
    )
    organisation_id = await make_organisation(database)
    tokens = sandbox.handle.identity.token_response(
        sandbox.handle.grant_tokens("ledgersync-mirror", [org.tenant_id])
    )
    await bind_connection(access, database, organisation_id, org.tenant_id, tokens)
    try:
        client = await access.client_for(organisation_id)
        with pytest.raises(AuthError) as refused:
            await client.get("/Organisation", wire.Organisations)
        info = await access.tokens.info(organisation_id)
    finally:
        await access.close()

    assert not isinstance(refused.value, NeedsReconnect)
    assert "TokenExpired" in refused.value.message
    assert access.tokens.refreshes >= 3  # a fresh token each time Xero said the last one expired
    assert info is not None
    assert info.status == CONNECTED
