"""Many organisations: each with its own Xero tenant, limits, scheduled pulls and forwarding backlog.

    python -m bench many-orgs --db postgresql [--organisations 500] [--processes 1 2 4]
        [--invoices 10] [--interval-minutes 1 2]

Set-up (not timed): a sandbox in this process with Xero's own limits per tenant (5 in flight, 60
calls a minute, 5,000 a day; 10,000 a minute app-wide) on Xero's real clock; ``--organisations``
ledgersync organisations, each bound to a tenant of its own (tokens straight from the sandbox, as
the OAuth callback would store them), none pulled yet, each with its own sync interval (cycling
through ``--interval-minutes``) and one paired phone.

Timed, against ``python -m server run --processes N`` (a forwarding worker in each process):
1. **Pulls**: every organisation is due at the scheduler's first tick. Time until each has a
   succeeded pull (today's scheduler: the elected process starts them all).
2. **Backlogs**: as soon as an organisation is mirrored, its forwarding accounts are set and its
   phone pushes a new customer and ``--invoices`` invoices (concurrently with the other
   organisations' pulls and pushes). Time from its push to its last upload in Xero.

Reported: Xero calls per organisation per minute (the most any tenant made in any rolling 60 s,
from the sandbox's own count of the calls it admitted), 429s the sandbox answered, time until
every organisation is pulled and every backlog forwarded, and the fairness spread between
organisations (p50, p90 and max of the per-organisation times, and max / p50).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import logging
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack
from typing import Any

import httpx
import msgspec
from sqlalchemy import func, select

from bench import pusher
from bench.dataset import CLIENT_ID, CLIENT_SECRET
from bench.harness import (
    PG_PREFIX,
    ServerProcess,
    free_port,
    percentile,
    pg_create,
    pg_drop,
    print_table,
    write_results,
)
from server.core.crypto import SecretBox, new_key_text
from server.db.database import Database
from server.db.mirror_models import SyncRun, XeroConnection
from server.db.models import Organisation, SyncRecord
from server.db.sync_models import Upload
from server.forwarding.settings import ForwardingSettingsService, SettingsChange
from server.http.serving import serve_in_thread
from server.services.devices import DeviceService
from server.settings import Settings
from server.xero.wire import TokenResponse
from server.xero_link.access import XeroAccess
from sync_protocol.messages import CustomerDraft, PushRequest, PushResponse, UpsertCustomer
from xero_sandbox import Limits, SandboxConfig, create_sandbox_app
from xero_sandbox.sandbox import Sandbox

# The sandbox's seeded NZ organisations: their bank and revenue accounts, and the sales tax type.
BANK, REVENUE, TAX_TYPE, TAX_RATE = "090", "200", "OUTPUT2", "15"
SETTLED = ("in_xero", "failed", "rejected", "superseded", "held")
PUSHES_AT_ONCE = 16


class CallLog:
    """Every call the sandbox admitted past its limiter: (tenant, sandbox-clock seconds)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.calls: dict[str, list[float]] = defaultdict(list)
        limiter = sandbox.limiter
        admit = limiter.acquire

        def counted(tenant_id: str) -> Any:
            remaining = admit(tenant_id)  # raises RateLimited (a 429) before anything is counted
            self.calls[tenant_id].append(limiter.clock.seconds())
            return remaining

        setattr(limiter, "acquire", counted)  # noqa: B010 - the bench's own sandbox, instrumented

    def busiest_minute(self, tenant_id: str) -> int:
        """The most calls ``tenant_id`` made in any rolling 60 s."""
        times = self.calls.get(tenant_id, [])
        return max((bisect.bisect_right(times, t + 60.0) - n for n, t in enumerate(times)), default=0)


async def _setup(
    url: str, sandbox: Sandbox, organisations: int, intervals: list[int], secret_key: str, api_url: str
) -> list[dict[str, Any]]:
    """Organisations bound to tenants of their own, not yet pulled, each with a paired phone."""
    database = Database(url)
    settings = Settings(database_url=url, secret_key=secret_key, xero_api_url=api_url)
    access = XeroAccess(settings, database, SecretBox.from_text(secret_key))
    devices = DeviceService(database)
    made: list[dict[str, Any]] = []
    try:
        await database.migrate()
        for n in range(organisations):
            tenant = sandbox.create_organisation(f"Bench Org {n:04d} (NZ)", "NZ", 1000 + n, 5, 5)
            tokens = sandbox.identity.token_response(sandbox.grant_tokens(CLIENT_ID, [tenant.tenant_id]))
            async with database.transaction() as session:
                organisation = Organisation(name=f"Bench Org {n:04d}")
                session.add(organisation)
                await session.flush()
                row = XeroConnection(
                    id=uuid.uuid4(),
                    organisation_id=organisation.id,
                    tenant_id=tenant.tenant_id.lower(),
                    tenant_name=tenant.name,
                )
                access.tokens.store(row, msgspec.convert(tokens, TokenResponse))
                session.add(row)
            code = await devices.issue_pairing_code(organisation.id, f"Field staff {n}")
            token = (await devices.pair(code.code, f"bench phone {n}")).token
            made.append(
                {
                    "organisation_id": str(organisation.id),
                    "tenant_id": tenant.tenant_id.lower(),
                    "token": token,
                    "interval": intervals[n % len(intervals)],
                }
            )
        return made
    finally:
        await access.close()
        await database.close()


async def _run(
    url: str, base_url: str, organisations: list[dict[str, Any]], invoices: int, within: float
) -> dict[str, Any]:
    """Waits for each organisation's first pull, then queues its backlog; until all are forwarded."""
    database = Database(url)
    forwarding = ForwardingSettingsService(database)
    by_id = {uuid.UUID(o["organisation_id"]): o for o in organisations}
    started = time.monotonic()
    pulled_at: dict[uuid.UUID, float] = {}
    pushed_at: dict[uuid.UUID, float] = {}
    forwarded_at: dict[uuid.UUID, float] = {}
    rejected = 0
    pushes: set[asyncio.Task[None]] = set()
    gate = asyncio.Semaphore(PUSHES_AT_ONCE)

    async def queue_backlog(http: httpx.AsyncClient, organisation_id: uuid.UUID) -> None:
        nonlocal rejected
        o = by_id[organisation_id]
        async with gate:
            # Its own sync interval, and the accounts forwarding needs (checked against its mirror).
            change = SettingsChange(
                bank_account_code=BANK, revenue_account_code=REVENUE, sync_interval_minutes=o["interval"]
            )
            await forwarding.update(organisation_id, "bench", change)
            async with database.reads() as session:
                products = list(
                    await session.scalars(
                        select(SyncRecord.entity_id).where(
                            SyncRecord.organisation_id == organisation_id, SyncRecord.entity == "product"
                        )
                    )
                )
            customer = str(uuid.uuid4())
            config = {
                "lines": 2,
                "customer_ids": [customer],
                "product_ids": products,
                "tax_type": TAX_TYPE,
                "rate": TAX_RATE,
                "account_code": REVENUE,
            }
            mutations: list[Any] = [
                UpsertCustomer(
                    mutation_id=str(uuid.uuid4()),
                    customer=CustomerDraft(id=customer, name=f"New customer of {o['tenant_id'][:8]}"),
                )
            ]
            mutations += [pusher.invoice(config, n) for n in range(invoices)]
            pushed_at[organisation_id] = time.monotonic()
            answer = await http.post(
                "/mobile/v1/mutations",
                content=msgspec.json.encode(PushRequest(mutations=mutations)),
                headers={"Authorization": f"Bearer {o['token']}", "Content-Type": "application/json"},
            )
            assert answer.status_code == 200, answer.text
            results = msgspec.json.decode(answer.content, type=PushResponse).results
            rejected += sum(1 for r in results if r.status != "applied")

    try:
        async with httpx.AsyncClient(
            base_url=base_url, timeout=120, headers={"X-Ledgersync-Protocol": "1"}
        ) as http:
            deadline = started + within
            while len(forwarded_at) < len(by_id) and time.monotonic() < deadline:
                async with database.reads() as session:
                    first_pulls = await session.execute(
                        select(SyncRun.organisation_id)
                        .where(SyncRun.kind == "pull", SyncRun.status == "succeeded")
                        .distinct()
                    )
                    newly = [org for (org,) in first_pulls if org not in pulled_at]
                    settled = await session.execute(
                        select(Upload.organisation_id, func.count())
                        .where(Upload.state.in_(SETTLED))
                        .group_by(Upload.organisation_id)
                    )
                    counts = dict(settled.tuples().all())
                now = time.monotonic()
                for org in newly:
                    pulled_at[org] = now
                    task = asyncio.create_task(queue_backlog(http, org))
                    pushes.add(task)
                    task.add_done_callback(pushes.discard)
                for org, count in counts.items():
                    if org in pushed_at and org not in forwarded_at and count >= invoices + 1:
                        forwarded_at[org] = now
                await asyncio.sleep(0.25)
            for task in list(pushes):
                await task
        async with database.reads() as session:
            states = dict(
                (await session.execute(select(Upload.state, func.count()).group_by(Upload.state)))
                .tuples()
                .all()
            )
            pulls = dict(
                (
                    await session.execute(
                        select(SyncRun.status, func.count())
                        .where(SyncRun.kind == "pull")
                        .group_by(SyncRun.status)
                    )
                )
                .tuples()
                .all()
            )
    finally:
        await database.close()
    pull_times = [pulled_at[o] - started for o in pulled_at]
    forward_times = [forwarded_at[o] - pushed_at[o] for o in forwarded_at]
    return {
        "pulled": len(pulled_at),
        "forwarded": len(forwarded_at),
        "rejected_at_push": rejected,
        "upload_states": states,
        "pull_runs": pulls,
        "all_pulled_s": max(pull_times, default=float("nan")),
        "pull_s": _spread(pull_times),
        "all_forwarded_s": max((forwarded_at[o] - started for o in forwarded_at), default=float("nan")),
        "forward_s": _spread(forward_times),
        "tenants": {str(o): by_id[o]["tenant_id"] for o in by_id},
    }


def _spread(values: list[float]) -> dict[str, float]:
    p50 = percentile(values, 50)
    return {
        "p50": p50,
        "p90": percentile(values, 90),
        "max": max(values, default=float("nan")),
        "max_over_p50": max(values, default=float("nan")) / p50 if p50 else float("nan"),
    }


def many_orgs_run(
    engine: str,
    organisations: int,
    processes: int,
    invoices: int,
    intervals: list[int],
    within: float,
    tag: str,
) -> dict[str, Any]:
    name = f"{PG_PREFIX}_many_orgs_{tag}"
    url = pg_create(name)
    try:
        port = free_port()
        secret_key = new_key_text()
        with ExitStack() as stack:
            app = create_sandbox_app(SandboxConfig(auto_consent=True, limits=Limits()))
            sandbox_server = stack.enter_context(serve_in_thread(app))
            sandbox: Sandbox = app.state.sandbox
            redirect = f"http://127.0.0.1:{port}/admin/xero/callback"
            sandbox.register_client(CLIENT_ID, CLIENT_SECRET, (redirect,))
            made_started = time.monotonic()
            orgs = asyncio.run(
                _setup(url, sandbox, organisations, intervals, secret_key, sandbox_server.base_url)
            )
            setup_s = time.monotonic() - made_started
            log = CallLog(sandbox)
            xero = {
                "xero_client_id": CLIENT_ID,
                "xero_client_secret": CLIENT_SECRET,
                "xero_redirect_url": redirect,
                "xero_login_url": sandbox_server.base_url,
                "xero_identity_url": sandbox_server.base_url,
                "xero_api_url": sandbox_server.base_url,
                "secret_key": secret_key,
                "forwarding_workers": "1",
                "forward_poll_seconds": "0.2",
                # Scheduled pulls on (the harness turns them off): each organisation's own interval.
                "sync_interval_minutes": "15",
                "sync_interval_floor_minutes": "1",
            }
            with ServerProcess(url, port=port, processes=processes, **xero) as server:
                before = server.stat()
                run = asyncio.run(_run(url, server.base_url, orgs, invoices, within))
                after = server.stat()
                wall = max(run["all_forwarded_s"], run["all_pulled_s"])
            busiest = {o["tenant_id"]: log.busiest_minute(o["tenant_id"]) for o in orgs}
            calls = {tenant: len(times) for tenant, times in log.calls.items()}
            per_org_calls = [calls.get(o["tenant_id"], 0) for o in orgs]
            return {
                "organisations": organisations,
                "processes": processes,
                "invoices_per_organisation": invoices,
                "setup_seconds": setup_s,
                **{k: v for k, v in run.items() if k != "tenants"},
                "xero_calls": sum(per_org_calls),
                "calls_per_organisation": _spread([float(c) for c in per_org_calls]),
                "max_calls_per_organisation_minute": max(busiest.values(), default=0),
                "max_in_flight": max(sandbox.limiter.max_in_flight.values(), default=0),
                "rejected_by_limits": dict(sandbox.limiter.rejected),
                "server_cpu_share": (after.cpu_seconds - before.cpu_seconds) / wall if wall == wall else 0.0,
            }
    finally:
        pg_drop(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench many-orgs", description=__doc__)
    parser.add_argument("--db", choices=["postgresql"], default="postgresql")
    parser.add_argument("--organisations", type=int, default=500)
    parser.add_argument("--processes", type=int, nargs="+", default=[1])
    parser.add_argument("--invoices", type=int, default=10, help="backlog per organisation")
    parser.add_argument(
        "--interval-minutes",
        type=int,
        nargs="+",
        default=[1, 2, 5],
        help="each organisation's own sync interval, cycling through these",
    )
    parser.add_argument("--within", type=float, default=900.0, help="give up after this many seconds")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    runs = [
        many_orgs_run(
            args.db,
            args.organisations,
            processes,
            args.invoices,
            args.interval_minutes,
            args.within,
            f"{processes}_{n}",
        )
        for processes in args.processes
        for n in range(args.runs)
    ]
    print_table(
        f"Many organisations ({args.db}, {args.organisations} organisations, {args.invoices} invoices + 1 "
        f"customer each, sandbox with Xero's limits on Xero's clock): one row per run",
        [
            "procs",
            "pulled",
            "forwarded",
            "all pulled s",
            "all forwarded s",
            "pull s p50/p90/max",
            "forward s p50/p90/max",
            "fairness max/p50",
            "calls/org",
            "max calls/org/min",
            "max in flight",
            "429s",
            "server CPU",
        ],
        [
            [
                r["processes"],
                f"{r['pulled']}/{r['organisations']}",
                f"{r['forwarded']}/{r['organisations']}",
                f"{r['all_pulled_s']:.1f}",
                f"{r['all_forwarded_s']:.1f}",
                "/".join(f"{r['pull_s'][k]:.1f}" for k in ("p50", "p90", "max")),
                "/".join(f"{r['forward_s'][k]:.1f}" for k in ("p50", "p90", "max")),
                f"{r['forward_s']['max_over_p50']:.1f}",
                f"{r['calls_per_organisation']['p50']:.0f}",
                r["max_calls_per_organisation_minute"],
                r["max_in_flight"],
                sum(r["rejected_by_limits"].values()),
                f"{100 * r['server_cpu_share']:.0f}%",
            ]
            for r in runs
        ],
    )
    if not args.no_write:
        write_results(
            "many-orgs",
            args.db,
            {"organisations": args.organisations, "invoices": args.invoices, "runs": runs},
        )
    return 0
