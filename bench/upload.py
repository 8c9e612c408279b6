"""Upload: phones pushing batches of invoices; invoices accepted per second and push latency.

    python -m bench upload --db sqlite [--phones 1 4 16] [--batch 50] [--lines 3]

Each phone (its own token and connection, in the ``bench.pusher`` process) pushes batches of new
invoices for mirrored customers and products, one push after another, for ``--duration`` seconds.
Every push is validated, stored, queued for Xero and published to the feed, as for a real phone.
Runs on a copy of the dataset's database (a fresh one per run).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench import worker
from bench.dataset import Dataset, ensure, tax_rate_of
from bench.harness import ServerProcess, Spread, percentile, print_table, working_copy, write_results


def upload_run(
    dataset: Dataset, url: str, phones: int, batch: int, lines: int, duration: float, rate: str
) -> dict[str, Any]:
    with ServerProcess(url) as server:
        process = worker.spawn(
            "bench.pusher",
            {
                "host": "127.0.0.1",
                "port": server.port,
                "tokens": dataset.tokens[:phones],
                "batch": batch,
                "lines": lines,
                "duration": duration,
                "warmup": 2.0,
                "customer_ids": dataset.customer_ids,
                "product_ids": dataset.product_ids,
                "tax_type": dataset.sales_tax_type,
                "rate": rate,
                "account_code": dataset.revenue_account,
                "pushes_per_phone": max(20, int(4000 / batch / phones) + 10),
            },
        )
        before = server.stat()
        started = time.monotonic()
        result = worker.finish(process)
        after = server.stat()
        elapsed = time.monotonic() - started
    latencies = result.pop("latencies")
    if result["rejected"]:
        print(f"  {result['rejected']} rejected, e.g. {result['rejections']}")
    return {
        **result,
        "invoices_per_second": result["applied"] / duration,
        "pushes": len(latencies),
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "server_cpu_share": (after.cpu_seconds - before.cpu_seconds) / elapsed,
    }


def main(argv: list[str] | None = None) -> int:
    import asyncio

    parser = argparse.ArgumentParser(prog="python -m bench upload", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--phones", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--batch", type=int, default=50, help="invoices per push")
    parser.add_argument("--lines", type=int, default=3, help="lines per invoice")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    dataset = ensure(args.db, args.customers)
    rate = asyncio.run(tax_rate_of(dataset.database_url, dataset.organisation_id, dataset.sales_tax_type))
    results, rows = [], []
    for phones in args.phones:
        runs = []
        for n in range(args.runs):
            with working_copy(dataset.database_url, args.db, f"upload{phones}_{n}") as url:
                runs.append(upload_run(dataset, url, phones, args.batch, args.lines, args.duration, rate))
        ips, p50, p99 = (Spread.of([r[k] for r in runs]) for k in ("invoices_per_second", "p50", "p99"))
        results.append(
            {
                "phones": phones,
                "batch": args.batch,
                "invoices_per_second": ips.json(),
                "p50": p50.json(),
                "p99": p99.json(),
                "rejected": sum(r["rejected"] for r in runs),
                "server_cpu_share": [r["server_cpu_share"] for r in runs],
            }
        )
        rows.append(
            [
                phones,
                args.batch,
                ips.show(),
                p50.show(1000),
                p99.show(1000),
                sum(r["rejected"] for r in runs),
                f"{100 * sorted(r['server_cpu_share'] for r in runs)[len(runs) // 2]:.0f}%",
            ]
        )
    print_table(
        f"Upload ({args.db}, {dataset.customers} customers, "
        f"{args.batch} invoices x {args.lines} lines per push, "
        f"{args.duration:g} s): median (min-max) of {args.runs}",
        ["phones", "batch", "invoices/s", "push p50 ms", "push p99 ms", "rejected", "server CPU"],
        rows,
    )
    if not args.no_write:
        write_results(
            "upload",
            args.db,
            {"runs": args.runs, "batch": args.batch, "lines": args.lines, "results": results},
        )
    return 0
