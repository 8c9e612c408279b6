"""Faults on demand: latency, 500/503 for N calls, dropped connection after commit, revoked connection."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.fixtures.sandbox import RunningSandbox
from xero_sandbox.store import Organisation


def _fault(sandbox: RunningSandbox, **spec: object) -> None:
    assert sandbox.control().post("/faults", json=spec).status_code == 201


def test_latency_delays_matching_calls(sandbox: RunningSandbox, xero: httpx.Client) -> None:
    _fault(sandbox, kind="latency", route="GET */Items", seconds=0.3, count=1)
    started = time.perf_counter()
    xero.get("/Items")
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    xero.get("/Items")
    assert time.perf_counter() - started < 0.3


@pytest.mark.parametrize("status", [500, 503])
def test_status_fault_hits_next_n_calls_then_clears(
    sandbox: RunningSandbox, xero: httpx.Client, status: int
) -> None:
    _fault(sandbox, kind="status", route="GET /api.xro/2.0/Contacts", status=status, count=2)
    assert [xero.get("/Contacts").status_code for _ in range(3)] == [status, status, 200]


def test_status_fault_only_matches_its_route(sandbox: RunningSandbox, xero: httpx.Client) -> None:
    _fault(sandbox, kind="status", route="PUT */Invoices", status=503, count=1)
    assert xero.get("/Contacts").status_code == 200


def test_dropped_connection_after_commit(sandbox: RunningSandbox, xero: httpx.Client) -> None:
    _fault(sandbox, kind="drop", route="PUT */Contacts", count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        xero.put("/Contacts", json={"Name": "Ghost Ltd"})
    # Xero made it; the caller never heard.
    assert len(xero.get("/Contacts", params={"where": 'Name=="Ghost Ltd"'}).json()["Contacts"]) == 1


def test_revoked_connection_is_403(
    sandbox: RunningSandbox, xero_org: Organisation, xero: httpx.Client
) -> None:
    assert sandbox.control().post(f"/organisations/{xero_org.tenant_id}/revoke", json={}).json() == {
        "disconnected": 1
    }
    response = xero.get("/Contacts")
    assert (response.status_code, response.json()["Detail"]) == (403, "AuthenticationUnsuccessful")


def test_faults_can_be_listed_and_cleared(sandbox: RunningSandbox) -> None:
    _fault(sandbox, kind="status", status=500)
    control = sandbox.control()
    assert len(control.get("/faults").json()) == 1
    control.delete("/faults")
    assert control.get("/faults").json() == []


def test_retry_with_same_idempotency_key_after_drop_gets_the_committed_result(
    sandbox: RunningSandbox, xero: httpx.Client
) -> None:
    _fault(sandbox, kind="drop", route="PUT */Contacts", count=1)
    headers = {"Idempotency-Key": "retry-after-drop"}
    with pytest.raises(httpx.RemoteProtocolError):
        xero.put("/Contacts", json={"Name": "Once Only"}, headers=headers)
    retried = xero.put("/Contacts", json={"Name": "Once Only"}, headers=headers)
    assert retried.status_code == 200
    assert len(xero.get("/Contacts", params={"where": 'Name=="Once Only"'}).json()["Contacts"]) == 1
