"""The benchmark organisation: N customers, 5,000 products, 30 tax rates, mirrored from the sandbox.

    python -m bench dataset --db sqlite --customers 50000

How it is made: the Xero sandbox (in this process, on a loopback port) is seeded with the
organisation; a real ledgersync server process connects to it through the OAuth redirect flow and
mirrors it with one "Sync now" — the same calls, mapping and store code as production, so the feed
rows and their payloads are exactly what a real mirror writes. Then devices are paired through the
device service (``DeviceService.issue_pairing_code`` + ``pair``: the same code the pairing API
runs, without 2 x N HTTP round trips).

A dataset is built once per engine and size and reused: SQLite as a template file under
``bench/data/``, PostgreSQL as a template database ``ls_bench_c<N>`` (``LEDGERSYNC_BENCH_PG_PREFIX``
replaces ``ls_bench``). Scenarios that write work on a copy. ``--rebuild`` builds it again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import time
import uuid
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.harness import (
    DATA_DIR,
    PG_PREFIX,
    ServerProcess,
    free_port,
    pg_create,
    pg_database_exists,
    pg_execute,
    pg_url,
    sqlite_checkpoint,
    sqlite_path,
)
from server.db.database import Database
from server.db.models import SyncCounter, SyncRecord
from server.http.serving import serve_in_thread
from server.services.admins import AdminService
from server.services.devices import DeviceService
from xero_sandbox import Limits, SandboxConfig, create_sandbox_app
from xero_sandbox import seed as sandbox_seed

# The issue's sizes; the smoke test (tests/bench) makes toy datasets through the same code.
PRODUCTS = int(os.environ.get("LEDGERSYNC_BENCH_PRODUCTS") or 5000)
TAX_RATES = 30
DEVICES = int(os.environ.get("LEDGERSYNC_BENCH_DEVICES") or 2000)
ADMIN_EMAIL = "bench@example.com"
ADMIN_PASSWORD = "bench-password"
ORGANISATION = "Bench Plumbing"
CLIENT_ID = "ledgersync-bench"
CLIENT_SECRET = "ledgersync-bench-secret"
# Xero's limits would make the 50k mirror take minutes of waiting; the dataset is about size.
UNLIMITED = Limits(concurrent=50, per_minute=1_000_000, per_day=100_000_000, app_per_minute=1_000_000)


@dataclass
class Dataset:
    engine: str
    customers: int
    products: int
    tax_rates: int
    database_url: str
    organisation_id: str
    tenant_id: str
    tokens: list[str]
    records: int  # live records a snapshot pull returns
    latest: int
    product_ids: list[str]  # a few, for uploads
    customer_ids: list[str]
    sales_tax_type: str
    revenue_account: str
    bank_account: str
    build_seconds: float
    method: str

    @staticmethod
    def meta_path(engine: str, customers: int) -> Path:
        return DATA_DIR / f"{engine}-c{customers}.json"

    def save(self) -> None:
        self.meta_path(self.engine, self.customers).write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, engine: str, customers: int) -> Dataset | None:
        path = cls.meta_path(engine, customers)
        if not path.exists():
            return None
        data = cls(**json.loads(path.read_text()))
        if engine == "sqlite" and not sqlite_path(data.database_url).exists():
            return None
        if engine == "postgresql" and not pg_database_exists(f"{PG_PREFIX}_c{customers}"):
            return None
        return data


def _extra_tax_rates(org: Any, wanted: int) -> None:
    """Tops the seeded organisation's tax rates up to ``wanted`` with plausible extra rates."""
    now = org.created
    n = 0
    while len(org.tax_rates) < wanted:
        n += 1
        rate = f"{(n * 1.25) % 20:.2f}"
        row = (f"TAX{n:03d}", f"Bench rate {n}", rate, "ACTIVE", n % 2 == 0, n % 2 == 1)
        org.tax_rates[row[0]] = sandbox_seed._tax_rate(row, now)


async def _prepare_database(url: str) -> str:
    database = Database(url)
    try:
        await database.migrate()
        admin = await AdminService(database).create_admin(ADMIN_EMAIL, ADMIN_PASSWORD, ORGANISATION)
        return str(admin.organisation_id)
    finally:
        await database.close()


async def _mirror(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as http:
        signed_in = await http.post(
            "/admin/api/session", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        signed_in.raise_for_status()
        http.headers["Authorization"] = f"Bearer {signed_in.json()['token']}"
        connected = await http.get("/admin/api/xero/connect", follow_redirects=True)
        connected.raise_for_status()
        assert connected.json()["status"] == "connected", connected.text
        started = await http.post("/admin/api/sync")
        while started.status_code == 409:  # the connect's own pull still runs: a full one after it
            await asyncio.sleep(0.5)
            started = await http.post("/admin/api/sync")
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        while True:
            run: dict[str, Any] = (await http.get(f"/admin/api/sync-runs/{run_id}")).json()
            if run["finished_at"] is not None:
                return run
            await asyncio.sleep(0.5)


async def _pair_devices(url: str, organisation_id: str, count: int) -> list[str]:
    database = Database(url)
    devices = DeviceService(database)
    try:
        tokens = []
        for n in range(count):
            code = await devices.issue_pairing_code(uuid.UUID(organisation_id), f"Field staff {n}")
            tokens.append((await devices.pair(code.code, f"bench phone {n}")).token)
        return tokens
    finally:
        await database.close()


async def _facts(url: str, organisation_id: str) -> dict[str, Any]:
    """What the scenarios need to know about the mirrored organisation."""
    database = Database(url)
    org = uuid.UUID(organisation_id)
    try:
        async with database.snapshot() as session:
            records = await session.scalar(
                select(func.count()).where(SyncRecord.organisation_id == org, SyncRecord.payload.is_not(None))
            )
            latest = await session.scalar(
                select(SyncCounter.version).where(SyncCounter.organisation_id == org)
            )

            async def payloads(entity: str, limit: int) -> list[dict[str, Any]]:
                rows = await session.execute(
                    select(SyncRecord.payload)
                    .where(SyncRecord.organisation_id == org, SyncRecord.entity == entity)
                    .where(SyncRecord.payload.is_not(None))
                    .limit(limit)
                )
                return [json.loads(payload) for (payload,) in rows if payload is not None]

            accounts = await payloads("account", 1000)
            settings = (await payloads("organisation", 1))[0]
            return {
                "records": int(records or 0),
                "latest": int(latest or 0),
                "product_ids": [p["id"] for p in await payloads("product", 200)],
                "customer_ids": [c["id"] for c in await payloads("customer", 2000)],
                "sales_tax_type": settings.get("default_sales_tax_type") or "OUTPUT2",
                "revenue_account": next(a["code"] for a in accounts if a["type"] == "REVENUE"),
                "bank_account": next(a["code"] for a in accounts if a["type"] == "BANK"),
            }
    finally:
        await database.close()


def build(engine: str, customers: int, products: int = PRODUCTS, devices: int = DEVICES) -> Dataset:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    started = time.perf_counter()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    if engine == "sqlite":
        path = DATA_DIR / f"sqlite-c{customers}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        url = pg_create(f"{PG_PREFIX}_c{customers}")
    organisation_id = asyncio.run(_prepare_database(url))
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/admin/xero/callback"
    with ExitStack() as stack:
        app = create_sandbox_app(SandboxConfig(auto_consent=True, limits=UNLIMITED))
        sandbox_server = stack.enter_context(serve_in_thread(app))
        sandbox = app.state.sandbox
        sandbox.register_client(CLIENT_ID, CLIENT_SECRET, (redirect,))
        print(
            f"seeding the sandbox: {customers} contacts, {products} items, {TAX_RATES} tax rates", flush=True
        )
        org = sandbox.create_organisation("Bench Plumbing (NZ)", "NZ", 4242, customers, products)
        _extra_tax_rates(org, TAX_RATES)
        server = ServerProcess(
            url,
            port=port,
            xero_client_id=CLIENT_ID,
            xero_client_secret=CLIENT_SECRET,
            xero_redirect_url=redirect,
            xero_login_url=sandbox_server.base_url,
            xero_identity_url=sandbox_server.base_url,
            xero_api_url=sandbox_server.base_url,
        )
        mirror_started = time.perf_counter()
        with server:
            run = asyncio.run(_mirror(server.base_url))
        print(
            f"mirrored in {time.perf_counter() - mirror_started:.1f} s: "
            f"fetched {run['fetched']}, created {run['created']}",
            flush=True,
        )
        if run.get("errors"):
            raise RuntimeError(f"mirror run failed: {run['errors']}")
        tenant_id = org.tenant_id
    print(f"pairing {devices} devices", flush=True)
    tokens = asyncio.run(_pair_devices(url, organisation_id, devices))
    facts = asyncio.run(_facts(url, organisation_id))
    if engine == "sqlite":
        sqlite_checkpoint(path)
    else:
        # A database in service has been analysed by autovacuum; a fresh one has no statistics,
        # and the planner's guesses without them are not what production runs. Copies made from
        # the template keep its statistics.
        asyncio.run(pg_execute(url, "ANALYZE"))
    dataset = Dataset(
        engine=engine,
        customers=customers,
        products=products,
        tax_rates=TAX_RATES,
        database_url=url if engine == "sqlite" else pg_url(f"{PG_PREFIX}_c{customers}"),
        organisation_id=organisation_id,
        tenant_id=tenant_id,
        tokens=tokens,
        build_seconds=round(time.perf_counter() - started, 1),
        method="sandbox + mirror",
        **facts,
    )
    dataset.save()
    print(
        f"dataset {engine} c{customers}: {dataset.records} live records, built in {dataset.build_seconds} s"
    )
    return dataset


def ensure(engine: str, customers: int, rebuild: bool = False) -> Dataset:
    if not rebuild:
        found = Dataset.load(engine, customers)
        if found is not None:
            return found
    return build(engine, customers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench dataset", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--customers", type=int, nargs="+", default=[50_000])
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)
    for customers in args.customers:
        dataset = ensure(args.db, customers, args.rebuild)
        print(
            f"{args.db} c{customers}: {dataset.records} records, cursor {dataset.latest}, "
            f"{dataset.database_url}"
        )
    return 0


async def tax_rate_of(url: str, organisation_id: str, tax_type: str) -> str:
    """The rate (percent, as text) of ``tax_type`` in the organisation's mirrored tax rates."""
    database = Database(url)
    try:
        async with database.reads() as session:
            for payload in await session.scalars(
                select(SyncRecord.payload).where(
                    SyncRecord.organisation_id == uuid.UUID(organisation_id), SyncRecord.entity == "tax_rate"
                )
            ):
                if payload is None:
                    continue
                rate = json.loads(payload)
                if rate["tax_type"] == tax_type:
                    return str(rate["rate"])
    finally:
        await database.close()
    raise RuntimeError(f"no tax rate {tax_type}")
