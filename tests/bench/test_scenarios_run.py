"""Every benchmark scenario still runs end to end, at toy scale, and reports what it measured.

Nothing here is timed: the figures belong to bench/README.md. These tests keep ``./dev bench``
from rotting as the server changes (a scenario that no longer starts, or one whose uploads are
rejected, would otherwise be found only when someone next measures).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
CUSTOMERS = "60"

# One worker runs them all, so the toy dataset in the module's bench_dir is built once, not per worker.
pytestmark = pytest.mark.xdist_group("bench")


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


def run_bench(bench_dir: Path, *args: str) -> dict[str, Any]:
    """Runs ``python -m bench …`` on SQLite with a toy dataset; returns the results file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERSYNC_")}
    env.update(
        PYTHONPATH=str(REPO),
        LEDGERSYNC_BENCH_DIR=str(bench_dir),
        LEDGERSYNC_BENCH_PRODUCTS="40",
        LEDGERSYNC_BENCH_DEVICES="12",
    )
    scenario = args[0]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args, "--db", "sqlite", "--runs", "1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results: dict[str, Any] = json.loads((bench_dir / "results" / f"{scenario}-sqlite.json").read_text())
    assert results["machine"]["cpus"] >= 1
    return results


def test_full_refresh_reports_every_encoding_and_zstd_is_the_smallest(bench_dir: Path) -> None:
    results = run_bench(bench_dir, "refresh", "--customers", CUSTOMERS)
    [size] = results["sizes"]
    encodings = size["encodings"]
    assert set(encodings) == {"identity", "gzip", "zstd"}
    assert {e["served_as"] for e in encodings.values()} == {"identity", "gzip", "zstd"}
    assert encodings["identity"]["raw_bytes"] == size["floor"]["identity"]["bytes"]
    assert (
        encodings["zstd"]["wire_bytes"]
        < encodings["gzip"]["wire_bytes"]
        < encodings["identity"]["wire_bytes"]
    )


def test_idle_phones_are_answered_not_modified(bench_dir: Path) -> None:
    results = run_bench(
        bench_dir, "idle", "--customers", CUSTOMERS, "--phones", "10", "--connections", "4", "--duration", "1"
    )
    [row] = results["results"]
    assert row["errors"] == 0
    assert set(row["statuses"]) == {"304"}
    assert row["rps"]["median"] > 0


def test_busy_phones_receive_every_change_the_mirror_writes(bench_dir: Path) -> None:
    results = run_bench(
        bench_dir,
        "busy",
        "--customers",
        CUSTOMERS,
        "--phones",
        "10",
        "--connections",
        "4",
        "--duration",
        "2",
        "--rate",
        "20",
    )
    [row] = results["results"]
    [run] = row["runs"]
    assert run["changes_written"] > 0
    assert run["missing"] == 0  # every phone received every change
    assert run["errors"] == 0


def test_uploaded_invoices_are_all_accepted(bench_dir: Path) -> None:
    results = run_bench(
        bench_dir, "upload", "--customers", CUSTOMERS, "--phones", "2", "--batch", "5", "--duration", "1"
    )
    [row] = results["results"]
    assert row["rejected"] == 0
    assert row["invoices_per_second"]["median"] > 0


def test_forwarding_puts_every_queued_invoice_in_xero_in_batches(bench_dir: Path) -> None:
    results = run_bench(bench_dir, "forwarding", "--invoices", "60")
    [run] = results["runs"]
    assert run["in_xero"] == 60
    assert run["counts"]["done"] == 60
    calls = dict(run["calls_by_route"])
    # Each write asks for at most 5 online invoice links (one call each); the mirror fetches the rest.
    assert calls.pop("GET /api.xro/2.0/Invoices/{invoice_id:str}/OnlineInvoice", 0) <= 10
    assert calls == {"PUT /api.xro/2.0/Invoices": 2}  # 50 a call
    assert run["rejected_by_limits"] == 0


def test_freshness_brings_each_change_made_in_xero_to_the_phone_holding_the_poke_stream(
    bench_dir: Path,
) -> None:
    results = run_bench(bench_dir, "freshness", "--changes", "3", "--gap", "0.5")
    [run] = results["runs"]
    assert run["received"] == 3
    assert run["missing"] == []
    assert {kind: figures["n"] for kind, figures in run["by_kind"].items()} == {
        "contact edited": 1,
        "invoice paid": 1,
        "invoice voided": 1,
    }
    assert run["phone"]["error"] is None
    assert run["webhook_pulls"] >= 1
    # One IDs read per coalesced batch, and for a forwarded invoice its online link once (and, with
    # payments mirrored, its payments).
    assert run["webhook_pulls"] <= run["webhook_xero_calls"] <= 3 * run["webhook_pulls"]
    assert run["p95"] >= run["p50"] > 0


def test_open_streams_are_all_held_and_all_poked(bench_dir: Path) -> None:
    results = run_bench(
        bench_dir,
        "open-streams",
        "--customers",
        CUSTOMERS,
        "--streams",
        "20",
        "--hold",
        "1.5",
        "--heartbeat",
        "1",
    )
    [row] = results["results"]
    assert row["opened"] == row["poked"] == 20
    assert row["failed"] == row["ended_by_server"] == 0
    assert row["heartbeats"] >= 20  # each stream heard at least one while idle
    assert row["fan_out_max"] >= row["fan_out_p50"] > 0


@pytest.fixture(scope="module")
def postgres_prefix() -> Iterator[str]:
    """A name prefix for this module's bench databases on the test server; they are dropped after."""
    admin_url = os.environ.get("LEDGERSYNC_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.skip("LEDGERSYNC_TEST_POSTGRES_URL is not set")
    prefix = f"ls_smoke_{uuid.uuid4().hex[:8]}"
    yield prefix

    async def drop_all() -> None:
        dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        try:
            names = await connection.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", f"{prefix}%"
            )
            for (name,) in names:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop_all())


def run_bench_postgresql(bench_dir: Path, prefix: str, *args: str) -> dict[str, Any]:
    """``python -m bench …`` on PostgreSQL: databases named ``prefix…`` on the test server."""
    admin_url = os.environ["LEDGERSYNC_TEST_POSTGRES_URL"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERSYNC_")}
    env.update(
        PYTHONPATH=str(REPO),
        LEDGERSYNC_BENCH_DIR=str(bench_dir),
        LEDGERSYNC_BENCH_PRODUCTS="40",
        LEDGERSYNC_BENCH_DEVICES="12",
        LEDGERSYNC_BENCH_POSTGRES_URL=admin_url,
        LEDGERSYNC_BENCH_PG_PREFIX=prefix,
    )
    scenario = args[0]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args, "--db", "postgresql", "--runs", "1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results: dict[str, Any] = json.loads((bench_dir / "results" / f"{scenario}-postgresql.json").read_text())
    return results


def test_idle_phones_are_answered_by_each_count_of_server_processes(
    bench_dir: Path, postgres_prefix: str
) -> None:
    results = run_bench_postgresql(
        bench_dir,
        postgres_prefix,
        "idle",
        "--customers",
        CUSTOMERS,
        "--phones",
        "10",
        "--connections",
        "4",
        "--duration",
        "1",
        "--processes",
        "1",
        "2",
    )
    rows = results["results"]
    assert [row["processes"] for row in rows] == [1, 2]
    assert all(row["errors"] == 0 and set(row["statuses"]) == {"304"} for row in rows)
    # The CPU of each serving process was read: one, then two.
    assert [len(shares) for [shares] in (row["process_cpu_shares"] for row in rows)] == [1, 2]


def test_busy_phones_receive_every_change_from_two_server_processes(
    bench_dir: Path, postgres_prefix: str
) -> None:
    results = run_bench_postgresql(
        bench_dir,
        postgres_prefix,
        "busy",
        "--customers",
        CUSTOMERS,
        "--phones",
        "10",
        "--connections",
        "4",
        "--duration",
        "2",
        "--rate",
        "20",
        "--processes",
        "2",
    )
    [row] = results["results"]
    assert row["processes"] == 2
    [run] = row["runs"]
    assert run["changes_written"] > 0
    assert run["missing"] == 0
    assert run["errors"] == 0


def test_many_organisations_are_all_pulled_and_forwarded_within_xeros_limits(
    bench_dir: Path, postgres_prefix: str
) -> None:
    results = run_bench_postgresql(
        bench_dir, postgres_prefix, "many-orgs", "--organisations", "4", "--invoices", "3", "--processes", "2"
    )
    [run] = results["runs"]
    assert run["processes"] == 2
    assert run["pulled"] == run["forwarded"] == 4
    assert run["rejected_at_push"] == 0
    assert run["upload_states"] == {"in_xero": 4 * (3 + 1)}
    assert 0 < run["max_calls_per_organisation_minute"] <= 60
    assert run["max_in_flight"] <= 5
    assert run["rejected_by_limits"] == {}
