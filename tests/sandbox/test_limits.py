"""Rate limits: per-minute, per-day, concurrent, app-wide minute; headers; Retry-After in real seconds."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from xero_sandbox import FaultSpec, Limits


def _api(make_sandbox, **limits: int) -> tuple[object, httpx.Client]:  # type: ignore[no-untyped-def]
    sb = make_sandbox(limits=Limits(**limits))
    org = sb.organisation()
    return sb, sb.api(org.tenant_id)


@pytest.mark.parametrize("path", ["/Contacts", "/Contacts/00000000-0000-0000-0000-000000000000"])
def test_every_api_response_carries_limit_headers(xero: httpx.Client, path: str) -> None:
    response = xero.get(path)
    for header in ("X-MinLimit-Remaining", "X-DayLimit-Remaining", "X-AppMinLimit-Remaining"):
        assert header in response.headers


def test_remaining_headers_count_down(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    _, xero = _api(make_sandbox, per_minute=10, per_day=100)
    first, second = xero.get("/Items"), xero.get("/Items")
    assert int(first.headers["X-MinLimit-Remaining"]) - 1 == int(second.headers["X-MinLimit-Remaining"])
    assert int(first.headers["X-DayLimit-Remaining"]) - 1 == int(second.headers["X-DayLimit-Remaining"])


def test_minute_limit_gives_429_with_retry_after(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    _, xero = _api(make_sandbox, per_minute=3)
    statuses = [xero.get("/Items").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = xero.get("/Items")
    assert limited.headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(limited.headers["Retry-After"]) <= 2  # 60 sandbox seconds at time_scale 60
    assert limited.headers["X-MinLimit-Remaining"] == "0"


def test_minute_window_rolls_on(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, xero = _api(make_sandbox, per_minute=2)
    xero.get("/Items")
    xero.get("/Items")
    assert xero.get("/Items").status_code == 429
    sb.handle.advance(61)  # type: ignore[attr-defined]
    assert xero.get("/Items").status_code == 200


def test_daily_limit_gives_429_with_problem_day(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    _, xero = _api(make_sandbox, per_day=2)
    xero.get("/Items")
    xero.get("/Items")
    limited = xero.get("/Items")
    assert (limited.status_code, limited.headers["X-Rate-Limit-Problem"]) == (429, "day")
    assert int(limited.headers["Retry-After"]) > 1000  # a day of sandbox time is 1440 real seconds


def test_app_minute_limit_spans_tenants(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(limits=Limits(app_per_minute=3))
    first, second = sb.organisation(), sb.organisation(name="Second")
    tokens = sb.authorize()
    a, b = sb.api(first.tenant_id, tokens["access_token"]), sb.api(second.tenant_id, tokens["access_token"])
    assert [a.get("/Items").status_code, b.get("/Items").status_code, a.get("/Items").status_code] == [
        200
    ] * 3
    limited = b.get("/Items")
    assert (limited.status_code, limited.headers["X-Rate-Limit-Problem"]) == (429, "appminute")


def test_concurrent_limit_gives_429_concurrent(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, xero = _api(make_sandbox, concurrent=2)
    sb.handle.add_fault(FaultSpec(kind="latency", route="GET */Items", seconds=0.5))  # type: ignore[attr-defined]
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: xero.get("/Items"), range(4)))
    problems = sorted(r.headers.get("X-Rate-Limit-Problem", "") for r in responses)
    assert problems.count("concurrent") >= 1
    assert sum(r.status_code == 200 for r in responses) == 2


def test_waiting_retry_after_in_real_time_is_enough(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    _, xero = _api(make_sandbox, per_minute=2)
    xero.get("/Items")
    xero.get("/Items")
    limited = xero.get("/Items")
    assert limited.status_code == 429
    time.sleep(int(limited.headers["Retry-After"]))
    assert xero.get("/Items").status_code == 200
