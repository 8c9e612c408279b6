"""Idempotency-Key: replay, misuse, length, per-tenant scope, expiry."""

from __future__ import annotations

import httpx

from tests.fixtures.sandbox import RunningSandbox


def _create(xero: httpx.Client, key: str, name: str = "Idem Co") -> httpx.Response:
    return xero.put("/Contacts", json={"Contacts": [{"Name": name}]}, headers={"Idempotency-Key": key})


def _count(xero: httpx.Client, name: str) -> int:
    return len(xero.get("/Contacts", params={"where": f'Name=="{name}"'}).json()["Contacts"])


def test_same_key_same_request_replays_first_response(xero: httpx.Client) -> None:
    first = _create(xero, "key-1")
    second = _create(xero, "key-1")
    assert second.status_code == 200
    assert second.content == first.content
    assert _count(xero, "Idem Co") == 1


def test_same_key_different_request_is_400(xero: httpx.Client) -> None:
    _create(xero, "key-2")
    response = _create(xero, "key-2", name="Other Co")
    assert response.status_code == 400
    assert _count(xero, "Other Co") == 0


def test_key_longer_than_128_characters_is_400(xero: httpx.Client) -> None:
    assert _create(xero, "k" * 129).status_code == 400
    assert _create(xero, "k" * 128).status_code == 200


def test_keys_are_scoped_per_tenant(sandbox: RunningSandbox, xero: httpx.Client) -> None:
    other = sandbox.organisation(name="Second Org")
    other_api = sandbox.api(other.tenant_id)
    _create(xero, "shared-key")
    assert (
        _create(other_api, "shared-key").json()["Contacts"][0]["ContactID"]
        != (_create(xero, "shared-key").json()["Contacts"][0]["ContactID"])
    )


def test_replay_after_expiry_creates_again(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(idempotency_window_seconds=600)
    org = sb.organisation()
    xero = sb.api(org.tenant_id)
    first = _create(xero, "expiring", name="Twice Co")
    sb.handle.advance(601)
    second = _create(xero, "expiring", name="Twice Co")
    # A replay after expiry is a fresh request: this one fails on the duplicate name, as Xero would.
    assert first.status_code == 200
    assert second.status_code == 400


def test_replay_is_recorded_in_the_ledger_without_changes(
    sandbox: RunningSandbox, xero: httpx.Client
) -> None:
    _create(xero, "ledger-key")
    _create(xero, "ledger-key")
    entries = [e for e in sandbox.control().get("/ledger").json() if e["idempotency_key"] == "ledger-key"]
    assert [(e["replayed"], len(e["changes"])) for e in entries] == [(False, 1), (True, 0)]
