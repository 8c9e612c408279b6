"""Idle refresh at scale: phones that are caught up, polling as fast as the server answers.

    python -m bench idle --db sqlite [--phones 100 500 2000] [--connections 64] [--runs 3]

Every phone has its own device token and starts at the organisation's latest cursor. Its first
poll gets an empty page and the ETag; from then on it sends ``If-None-Match`` like the reference
client and gets 304s (``--no-etag``: empty 200 pages instead). The load generator is a separate
process (``bench.loadgen``) holding ``--connections`` keep-alive connections, closed loop: it
measures the throughput one server process sustains and the latency at that load. The server's
CPU use over the run is reported alongside, to show whether it was the server that saturated.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import asyncpg

from bench.dataset import Dataset, ensure
from bench.harness import ServerProcess, Spread, asyncpg_dsn, percentile, print_table, write_results
from bench.worker import finish, spawn


def database_statements(database_url: str) -> int:
    """Transactions PostgreSQL has counted in this database so far (-1 on SQLite)."""
    if not database_url.startswith("postgresql"):
        return -1

    async def read() -> int:
        connection = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
        try:
            # Statistics are flushed by each backend at most once a second; a snapshot of them now.
            await connection.execute("SELECT pg_stat_clear_snapshot()")
            value = await connection.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
            )
            return int(value)
        finally:
            await connection.close()

    return asyncio.run(read())


def load_run(
    server: ServerProcess,
    dataset: Dataset,
    phones: int,
    connections: int,
    duration: float,
    etag: bool = True,
    interval: float = 0.0,
    marker: str | None = None,
    warmup: float = 3.0,
) -> dict[str, Any]:
    config = {
        "host": "127.0.0.1",
        "port": server.port,
        "tokens": dataset.tokens[:phones],
        "cursor": dataset.latest,
        "connections": min(connections, phones),
        "duration": duration,
        "warmup": warmup,
        "interval": interval,
        "etag": etag,
        "marker": marker,
    }
    process = spawn("bench.loadgen", config)
    # The window is after the warm-up: read the server's CPU at its edges (close enough: 1 tick = 10 ms).
    import time

    time.sleep(warmup)
    before, before_each = server.stat(), server.stats()
    statements_before = database_statements(dataset.database_url)
    result = finish(process)
    after, after_each = server.stat(), server.stats()
    statements = (
        database_statements(dataset.database_url) - statements_before if statements_before >= 0 else -1
    )
    latencies = result.pop("latencies")
    # Each process's share of a core: how evenly the kernel spread the connections over them.
    shares = sorted(
        (after_each[pid].cpu_seconds - before_each[pid].cpu_seconds) / duration
        for pid in after_each
        if pid in before_each
    )
    result.update(
        {
            "rps": len(latencies) / duration,
            "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99),
            "server_cpu_share": (after.cpu_seconds - before.cpu_seconds) / duration,
            "process_cpu_shares": shares,
            # PostgreSQL's count of transactions in the database (each autocommit statement is one):
            # round trips per poll, give or take the few the server makes on its own.
            "statements_per_request": statements / max(1, len(latencies)) if statements >= 0 else None,
            "server_cpu_per_request": (after.cpu_seconds - before.cpu_seconds) / max(1, len(latencies)),
            "client_cpu_share": result["client_cpu"] / (duration + warmup),
            "server_rss": after.rss_bytes,
        }
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench idle", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--phones", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--connections", type=int, nargs="+", default=[64])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-etag", action="store_true", help="poll without If-None-Match (200s, not 304s)")
    parser.add_argument(
        "--processes",
        type=int,
        nargs="+",
        default=[1],
        help="server processes on the one port (run --processes N; PostgreSQL for more than 1)",
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.db == "sqlite" and max(args.processes) > 1:
        parser.error("--processes above 1 needs --db postgresql")

    dataset = ensure(args.db, args.customers)
    rows, results = [], []
    for processes in args.processes:
        with ServerProcess(dataset.database_url, processes=processes) as server:
            for phones in args.phones:
                for connections in args.connections:
                    runs = [
                        load_run(server, dataset, phones, connections, args.duration, etag=not args.no_etag)
                        for _ in range(args.runs)
                    ]
                    rps = Spread.of([r["rps"] for r in runs])
                    p50 = Spread.of([r["p50"] for r in runs])
                    p99 = Spread.of([r["p99"] for r in runs])
                    statuses: dict[str, int] = {}
                    for r in runs:
                        for status, n in r["statuses"].items():
                            statuses[status] = statuses.get(status, 0) + n
                    middle = runs[len(runs) // 2]
                    results.append(
                        {
                            "processes": processes,
                            "phones": phones,
                            "connections": min(connections, phones),
                            "rps": rps.json(),
                            "p50": p50.json(),
                            "p99": p99.json(),
                            "statuses": statuses,
                            "errors": sum(r["error_count"] for r in runs),
                            "server_cpu_share": [r["server_cpu_share"] for r in runs],
                            "process_cpu_shares": [r["process_cpu_shares"] for r in runs],
                            "statements_per_request": [r["statements_per_request"] for r in runs],
                            "client_cpu_share": [r["client_cpu_share"] for r in runs],
                            "server_cpu_per_request": Spread.of(
                                [r["server_cpu_per_request"] for r in runs]
                            ).json(),
                        }
                    )
                    rows.append(
                        [
                            processes,
                            phones,
                            min(connections, phones),
                            rps.show(),
                            p50.show(1000, 1),
                            p99.show(1000, 1),
                            " ".join(f"{k}:{v}" for k, v in sorted(statuses.items())),
                            f"{100 * sorted(r['server_cpu_share'] for r in runs)[len(runs) // 2]:.0f}%",
                            f"{100 * sorted(r['client_cpu_share'] for r in runs)[len(runs) // 2]:.0f}%",
                            Spread.of([r["server_cpu_per_request"] for r in runs]).show(1e6),
                            "/".join(f"{100 * share:.0f}" for share in middle["process_cpu_shares"]),
                            "-"
                            if middle["statements_per_request"] is None
                            else f"{middle['statements_per_request']:.2f}",
                        ]
                    )
    print_table(
        f"Idle refresh ({args.db}, {dataset.customers} customers, {args.duration:.0f} s runs, "
        f"{'no ETag' if args.no_etag else 'If-None-Match'}): median (min-max) of {args.runs}",
        [
            "procs",
            "phones",
            "conns",
            "req/s",
            "p50 ms",
            "p99 ms",
            "statuses",
            "server CPU",
            "client CPU",
            "server CPU us/req",
            "% CPU by process",
            "db xacts/req",
        ],
        rows,
    )
    if not args.no_write:
        write_results("idle", args.db, {"runs": args.runs, "duration": args.duration, "results": results})
    return 0
