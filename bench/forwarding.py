"""Forwarding: a backlog of queued invoices sent to the sandbox under Xero's limits, time-scaled.

    python -m bench forwarding --db sqlite [--invoices 10000] [--time-scale 60] [--runs 3]

Set-up (not timed): a sandbox with Xero's own limits (5 concurrent, 60 calls a minute, 5,000 a
day) on a clock ``--time-scale`` times faster than real; a fresh database; a ledgersync process
without forwarding workers is connected to the sandbox, mirrors it, gets its forwarding accounts
set, and a phone uploads ``--invoices`` invoices in pushes of 500. Then that process stops and one
with forwarding workers (``--workers``) starts on the same database (``bench.forward_server``:
``python -m server run`` with its Xero limiter on the sandbox's clock) and works the backlog off.

Measured: Xero calls per invoice (every call the sandbox answered while forwarding, over the
invoices that reached Xero), and throughput as a fraction of the ceiling: 60 calls a Xero minute
x 50 invoices a call = 3,000 invoices a Xero minute, over the Xero time from the first forwarding
call to the last (plus that one call's minute slot).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

from bench import pusher
from bench.dataset import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CLIENT_ID,
    CLIENT_SECRET,
    _facts,
    _mirror,
    _prepare_database,
    tax_rate_of,
)
from bench.harness import (
    DATA_DIR,
    PG_PREFIX,
    ServerProcess,
    Spread,
    free_port,
    pg_create,
    pg_drop,
    print_table,
    write_results,
)
from server.core.crypto import new_key_text
from server.http.serving import serve_in_thread
from sync_protocol.messages import PushRequest, PushResponse
from xero_sandbox import Limits, SandboxConfig, create_sandbox_app

CEILING_CALLS_PER_MINUTE = 60
INVOICES_PER_CALL = 50
PUSH = 500


async def _queue(base_url: str, url: str, organisation_id: str, invoices: int) -> None:
    """Admin: forwarding accounts; a phone pairs and uploads ``invoices`` invoices."""
    facts = await _facts(url, organisation_id)
    rate = await tax_rate_of(url, organisation_id, facts["sales_tax_type"])
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as http:
        signed_in = await http.post(
            "/admin/api/session", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        admin = {"Authorization": f"Bearer {signed_in.json()['token']}"}
        settings = await http.put(
            "/admin/api/settings",
            json={
                "bank_account_code": facts["bank_account"],
                "revenue_account_code": facts["revenue_account"],
            },
            headers=admin,
        )
        assert settings.status_code == 200, settings.text
        code = (
            await http.post("/admin/api/devices/pairing-codes", json={"staff_name": "Bench"}, headers=admin)
        ).json()
        protocol = {"X-Ledgersync-Protocol": "1"}
        token = (await http.post("/mobile/v1/pair", json={"code": code["code"]}, headers=protocol)).json()[
            "token"
        ]
        phone = {**protocol, "Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        config = {
            "lines": 2,
            "customer_ids": facts["customer_ids"],
            "product_ids": facts["product_ids"],
            "tax_type": facts["sales_tax_type"],
            "rate": rate,
            "account_code": facts["revenue_account"],
        }
        for start in range(0, invoices, PUSH):
            body = PushRequest(
                mutations=[pusher.invoice(config, n) for n in range(start, min(invoices, start + PUSH))]
            )
            answer = await http.post("/mobile/v1/mutations", content=msgspec.json.encode(body), headers=phone)
            assert answer.status_code == 200, answer.text
            results = msgspec.json.decode(answer.content, type=PushResponse).results
            rejected = [r for r in results if r.status != "applied"]
            assert not rejected, rejected[:2]


async def _settle(base_url: str, invoices: int, within: float) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        signed_in = await http.post(
            "/admin/api/session", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        http.headers["Authorization"] = f"Bearer {signed_in.json()['token']}"
        deadline = time.monotonic() + within
        while True:
            counts: dict[str, int] = (await http.get("/admin/api/uploads", params={"limit": 1})).json()[
                "counts"
            ]
            moving = sum(counts.get(k, 0) for k in ("due", "in_flight", "retrying", "waiting"))
            if moving == 0 or time.monotonic() > deadline:
                return counts
            await asyncio.sleep(0.1)


def forwarding_run(engine: str, invoices: int, time_scale: float, workers: int, tag: str) -> dict[str, Any]:
    if engine == "sqlite":
        path = DATA_DIR / "work" / f"forwarding-{tag}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        url = pg_create(f"{PG_PREFIX}_forwarding_{tag}")
    try:
        organisation_id = asyncio.run(_prepare_database(url))
        port = free_port()
        redirect = f"http://127.0.0.1:{port}/admin/xero/callback"
        with ExitStack() as stack:
            app = create_sandbox_app(SandboxConfig(auto_consent=True, time_scale=time_scale, limits=Limits()))
            sandbox_server = stack.enter_context(serve_in_thread(app))
            sandbox = app.state.sandbox
            sandbox.register_client(CLIENT_ID, CLIENT_SECRET, (redirect,))
            org = sandbox.create_organisation("Bench Forwarding (NZ)", "NZ", 777, 50, 20)
            xero = {
                "xero_client_id": CLIENT_ID,
                "xero_client_secret": CLIENT_SECRET,
                "xero_redirect_url": redirect,
                "xero_login_url": sandbox_server.base_url,
                "xero_identity_url": sandbox_server.base_url,
                "xero_api_url": sandbox_server.base_url,
                "bench_time_scale": str(time_scale),
                "secret_key": new_key_text(),  # both processes must read the stored Xero tokens
            }
            with ServerProcess(
                url, port=port, module="bench.forward_server", processes=1, forwarding_workers="0", **xero
            ) as s:
                run = asyncio.run(_mirror(s.base_url))
                assert run["status"] == "succeeded", run
                queued_started = time.monotonic()
                asyncio.run(_queue(s.base_url, url, organisation_id, invoices))
                queue_seconds = time.monotonic() - queued_started
            mark = len(sandbox.state.ledger)
            sandbox.state.calls.clear()
            started = time.monotonic()
            with ServerProcess(
                url,
                port=port,
                module="bench.forward_server",
                processes=1,
                forwarding_workers=str(workers),
                forward_poll_seconds="0.05",
                **xero,
            ) as s:
                counts = asyncio.run(
                    _settle(s.base_url, invoices, within=max(120.0, 30 * 60 * 60 / time_scale))
                )
                wall = time.monotonic() - started
            writes = [e for e in sandbox.state.ledger[mark:] if e.tenant_id == org.tenant_id]
            calls = sum(sandbox.state.calls.values())
            in_xero = len(org.invoices)
            first: datetime = writes[0].at
            last: datetime = writes[-1].at
            minutes = (last - first).total_seconds() / 60 + 1 / CEILING_CALLS_PER_MINUTE
            throughput = in_xero / minutes  # invoices per Xero minute
            rejected = sum(sandbox.limiter.rejected.values())  # 429s the sandbox answered
            return {
                "invoices": invoices,
                "in_xero": in_xero,
                "counts": counts,
                "queue_seconds": queue_seconds,
                "wall_seconds": wall,
                "xero_calls": calls,
                "calls_by_route": dict(sandbox.state.calls),
                "writes": len(writes),
                "calls_per_invoice": calls / max(1, in_xero),
                "xero_minutes": minutes,
                "invoices_per_xero_minute": throughput,
                "ceiling_fraction": throughput / (CEILING_CALLS_PER_MINUTE * INVOICES_PER_CALL),
                "rejected_by_limits": rejected,
                "max_in_flight": sandbox.limiter.max_in_flight.get(org.tenant_id, 0),
            }
    finally:
        if engine == "postgresql":
            pg_drop(f"{PG_PREFIX}_forwarding_{tag}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench forwarding", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument(
        "--time-scale", type=float, default=60.0, help="sandbox clock speed-up (60: a minute a second)"
    )
    parser.add_argument("--workers", type=int, default=1, help="forwarding workers (SQLite runs one)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    runs = [
        forwarding_run(args.db, args.invoices, args.time_scale, args.workers, str(n))
        for n in range(args.runs)
    ]
    fraction = Spread.of([r["ceiling_fraction"] for r in runs])
    per_invoice = Spread.of([r["calls_per_invoice"] for r in runs])
    wall = Spread.of([r["wall_seconds"] for r in runs])
    print_table(
        f"Forwarding ({args.db}, {args.invoices} queued invoices, sandbox x{args.time_scale:g}, "
        f"{args.workers} worker(s)): median (min-max) of {args.runs}",
        [
            "in Xero",
            "Xero calls",
            "calls/invoice",
            "invoices/Xero min",
            "of ceiling",
            "429s",
            "wall s",
            "queued in s",
        ],
        [
            [
                min(r["in_xero"] for r in runs),
                Spread.of([r["xero_calls"] for r in runs]).show(),
                per_invoice.show(1, 4),
                Spread.of([r["invoices_per_xero_minute"] for r in runs]).show(),
                fraction.show(100, 1) + " %",
                sum(r["rejected_by_limits"] for r in runs),
                wall.show(1, 1),
                Spread.of([r["queue_seconds"] for r in runs]).show(1, 1),
            ]
        ],
    )
    if not args.no_write:
        write_results(
            "forwarding",
            args.db,
            {
                "invoices": args.invoices,
                "time_scale": args.time_scale,
                "workers": args.workers,
                "ceiling_fraction": fraction.json(),
                "calls_per_invoice": per_invoice.json(),
                "runs": runs,
            },
        )
    return 0
