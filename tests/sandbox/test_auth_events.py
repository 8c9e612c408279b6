"""Each consent is an authentication event: its access token names it (``authentication_event_id``) and
``GET /connections?authEventId=`` lists only the tenants that consent approved, as Xero does."""

from __future__ import annotations

from typing import Any

from server.xero.oauth import auth_event_id
from tests.fixtures.sandbox import RunningSandbox


def tenants_listed(sandbox: RunningSandbox, tokens: dict[str, Any], event: str | None = None) -> set[str]:
    response = sandbox.http().get(
        "/connections",
        params={"authEventId": event} if event else None,
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert response.status_code == 200, response.text
    return {c["tenantId"] for c in response.json()}


def test_connections_filtered_by_the_tokens_auth_event_are_those_its_consent_approved(
    sandbox: RunningSandbox,
) -> None:
    first, second = sandbox.organisation("First"), sandbox.organisation("Second")
    earlier = sandbox.authorize([first.tenant_id])
    later = sandbox.authorize([second.tenant_id])

    event = auth_event_id(later["access_token"])

    assert event is not None
    assert event != auth_event_id(earlier["access_token"])
    assert tenants_listed(sandbox, later, event) == {second.tenant_id}
    assert tenants_listed(sandbox, later) == {first.tenant_id, second.tenant_id}


def test_approving_a_tenant_again_moves_it_to_the_new_consent(sandbox: RunningSandbox) -> None:
    first, second = sandbox.organisation("First"), sandbox.organisation("Second")
    earlier = sandbox.authorize([first.tenant_id, second.tenant_id])
    again = sandbox.authorize([first.tenant_id])

    assert tenants_listed(sandbox, again, auth_event_id(again["access_token"])) == {first.tenant_id}
    assert tenants_listed(sandbox, earlier, auth_event_id(earlier["access_token"])) == {second.tenant_id}
