"""Busy refresh: phones polling while the mirror writes 100 changes a second; lag from change to receipt.

    python -m bench busy --db sqlite [--phones 100 500 2000] [--interval 2] [--rate 100]

Three processes beside the server: the load generator (each phone polls every ``--interval``
seconds, over ``--connections`` keep-alive connections), and the writer (``bench.writer``: the
mirror's store function renaming customers, ``--rate`` changes/s in transactions of ``--batch``).
Each change carries its batch number; a phone's lag for a batch is the time from the writer's
commit to the end of the poll that brought it. Lag includes the wait for the phone's next poll
(on average half the interval when the server keeps up), so compare p50 with ``interval / 2``.
Runs on a copy of the dataset's database.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import worker, writer
from bench.dataset import ensure
from bench.harness import ServerProcess, Spread, percentile, print_table, working_copy, write_results


def busy_run(
    dataset: Any,
    database_url: str,
    phones: int,
    connections: int,
    interval: float,
    rate: float,
    batch: int,
    duration: float,
    warmup: float = 3.0,
    processes: int = 1,
) -> dict[str, Any]:
    tail = 2 * interval + 1.0
    stop_file = Path(tempfile.mkdtemp(prefix="ls-busy-")) / "writer-done"
    with ServerProcess(database_url, processes=processes) as server:
        load = worker.spawn(
            "bench.loadgen",
            {
                "host": "127.0.0.1",
                "port": server.port,
                "tokens": dataset.tokens[:phones],
                "cursor": dataset.latest,
                "connections": min(connections, phones),
                "duration": duration + tail,
                "stop_file": str(stop_file),
                "tail": tail,
                "warmup": warmup,
                "interval": interval,
                "etag": True,
                "marker": writer.MARKER,
            },
        )
        time.sleep(warmup)
        before = server.stat()
        write = worker.spawn(
            "bench.writer",
            {
                "database_url": database_url,
                "organisation_id": dataset.organisation_id,
                "tenant_id": dataset.tenant_id,
                "rate": rate,
                "batch": batch,
                "duration": duration,
            },
        )
        written = worker.finish(write)
        stop_file.touch()  # the phones poll ``tail`` seconds more, then stop
        polled = worker.finish(load)
        after = server.stat()
    commits = {int(k): v for k, v in written["commits"].items()}
    lags: list[float] = []
    missing = 0
    for batch_no, committed in commits.items():
        got = polled["receipts"].get(str(batch_no), [])
        lags += [t - committed for t in got]
        missing += max(0, phones - len(got))
    latencies = polled["latencies"]
    return {
        "processes": processes,
        "phones": phones,
        "interval": interval,
        "changes_written": written["changes"],
        "write_rate": written["changes"] / duration,
        "write_p99": percentile(written["write_seconds"], 99),
        "requests": len(latencies),
        "rps": len(latencies) / polled["seconds"],
        "offered_rps": phones / interval,
        "poll_p50": percentile(latencies, 50),
        "poll_p99": percentile(latencies, 99),
        "lag_p50": percentile(lags, 50),
        "lag_p99": percentile(lags, 99),
        "lag_max": max(lags) if lags else float("nan"),
        "receipts": len(lags),
        "missing": missing,
        "server_cpu_share": (after.cpu_seconds - before.cpu_seconds) / polled["seconds"],
        "statuses": polled["statuses"],
        "errors": polled["error_count"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench busy", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--phones", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between one phone's polls")
    parser.add_argument("--rate", type=float, default=100.0, help="changes per second")
    parser.add_argument("--batch", type=int, default=10, help="changes per mirror transaction")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--runs", type=int, default=3)
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
    results, rows = [], []
    for processes, phones in [(p, n) for p in args.processes for n in args.phones]:
        runs = []
        for n in range(args.runs):
            with working_copy(dataset.database_url, args.db, f"busy{processes}_{phones}_{n}") as url:
                runs.append(
                    busy_run(
                        dataset,
                        url,
                        phones,
                        args.connections,
                        args.interval,
                        args.rate,
                        args.batch,
                        args.duration,
                        processes=processes,
                    )
                )
        summary = {
            key: Spread.of([r[key] for r in runs]).json()
            for key in (
                "rps",
                "poll_p50",
                "poll_p99",
                "lag_p50",
                "lag_p99",
                "lag_max",
                "write_rate",
                "write_p99",
            )
        }
        results.append(
            {
                "processes": processes,
                "phones": phones,
                "interval": args.interval,
                "summary": summary,
                "runs": runs,
            }
        )

        def show(key: str, scale: float = 1000.0, digits: int = 0, summary: dict[str, Any] = summary) -> str:
            s = summary[key]
            return Spread(s["median"], s["min"], s["max"]).show(scale, digits)

        rows.append(
            [
                processes,
                phones,
                f"{phones / args.interval:.0f}",
                show("rps", 1),
                show("write_rate", 1),
                show("poll_p50", 1000, 1),
                show("poll_p99", 1000, 1),
                show("lag_p50"),
                show("lag_p99"),
                show("lag_max"),
                sum(r["missing"] for r in runs),
                f"{100 * sorted(r['server_cpu_share'] for r in runs)[len(runs) // 2]:.0f}%",
            ]
        )
    print_table(
        f"Busy refresh ({args.db}, {dataset.customers} customers, poll every {args.interval:g} s, "
        f"{args.rate:g} changes/s in batches of {args.batch}, {args.duration:g} s): "
        f"median (min-max) of {args.runs}",
        [
            "procs",
            "phones",
            "offered req/s",
            "req/s",
            "changes/s",
            "poll p50 ms",
            "poll p99 ms",
            "lag p50 ms",
            "lag p99 ms",
            "lag max ms",
            "missed",
            "server CPU",
        ],
        rows,
    )
    if not args.no_write:
        write_results(
            "busy",
            args.db,
            {
                "runs": args.runs,
                "interval": args.interval,
                "rate": args.rate,
                "batch": args.batch,
                "duration": args.duration,
                "results": results,
            },
        )
    return 0
