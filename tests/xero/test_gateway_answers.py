"""ledgersync's Xero client reading the gateway's 401/403 problems in either key case, and scopes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.xero import wire
from server.xero.client import AccessToken, XeroClient
from server.xero.errors import NeedsReconnect
from server.xero.rate_limit import LimitPolicy, TenantLimiter
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import FAST_RETRY


class RecordingToken:
    def __init__(self, value: str) -> None:
        self.token = AccessToken(value, 1)
        self.lost_because: list[str] = []

    async def current(self) -> AccessToken:
        return self.token

    async def refreshed(self, stale: AccessToken) -> AccessToken:
        return self.token

    async def lost(self, reason: str) -> None:
        self.lost_because.append(reason)


async def _client(
    sandbox: RunningSandbox, scope: str | None = None
) -> tuple[XeroClient, RecordingToken, str]:
    org = sandbox.organisation(contacts=1, items=1)
    tokens = sandbox.authorize([org.tenant_id], **({"scope": scope} if scope else {}))
    source = RecordingToken(tokens["access_token"])
    http = httpx.AsyncClient(event_hooks=sandbox.event_hooks(asynchronous=True))
    return (
        XeroClient(http, sandbox.base_url, org.tenant_id, source, TenantLimiter(LimitPolicy()), FAST_RETRY),
        source,
        org.tenant_id,
    )


@pytest.mark.parametrize("lowercase", [False, True], ids=["PascalCase", "lower-case"])
async def test_a_disconnected_tenant_needs_a_reconnect_whatever_the_problem_keys_case(
    make_sandbox: Any, lowercase: bool
) -> None:
    sandbox: RunningSandbox = make_sandbox(lowercase_problems=lowercase)
    client, source, tenant_id = await _client(sandbox)
    sandbox.handle.revoke_connection(tenant_id)

    with pytest.raises(NeedsReconnect, match="AuthenticationUnsuccessful"):
        await client.get("/Contacts", wire.Contacts)
    assert source.lost_because
    assert "AuthenticationUnsuccessful" in source.lost_because[0]


@pytest.mark.parametrize("lowercase", [False, True], ids=["PascalCase", "lower-case"])
async def test_a_call_outside_the_granted_scopes_asks_for_a_reconnect(
    make_sandbox: Any, lowercase: bool
) -> None:
    sandbox: RunningSandbox = make_sandbox(lowercase_problems=lowercase)
    client, source, _ = await _client(sandbox, scope="offline_access accounting.contacts")

    assert (await client.get("/Contacts", wire.Contacts)).contacts
    with pytest.raises(NeedsReconnect, match="AuthorizationUnsuccessful"):
        await client.get("/Invoices", wire.Invoices)
    assert source.lost_because
