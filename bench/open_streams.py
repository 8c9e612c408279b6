"""Open streams: how many idle poke streams one server process holds, what each costs, how fast a poke
reaches them all.

    python -m bench open-streams --db sqlite [--streams 100 1000 2000] [--hold 10] [--heartbeat 5]

The server is ``python -m server run`` on a working copy of the dataset (its devices' tokens); the
streams are held by ``bench.stream_holder`` (a process of its own, bare connections). For each count:
the holder opens them all (each gets its first poke, the current version) and the server's RSS
is read (memory per stream: its growth over its RSS before any stream, over the streams open); they
idle for ``--hold`` seconds (heartbeats every ``--heartbeat`` s, each re-checking the device) while
the server's CPU is read;
then one device pushes an invoice, and each stream's poke of the new version is timed from just
before the push was sent (fan-out: p50, p95 and the last; the push's own time is shown beside it,
and the hub waits 0.1 s after a commit so a burst makes one poke). Streams the server ended or refused are
counted.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from typing import Any

import httpx
import msgspec

from bench import pusher
from bench.dataset import Dataset, ensure, tax_rate_of
from bench.harness import (
    DATA_DIR,
    ServerProcess,
    percentile,
    print_table,
    working_copy,
    write_results,
)
from bench.worker import finish, spawn
from sync_protocol.messages import PushRequest


def _raise_file_limit() -> int:
    """Lets this process and its children (server, holder) open as many sockets as the system allows."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def _push_one(base_url: str, token: str, config: dict[str, Any], n: int) -> None:
    headers = {
        "X-Ledgersync-Protocol": "1",
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
    }
    body = msgspec.json.encode(PushRequest(mutations=[pusher.invoice(config, n)]))
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        answer = await http.post("/mobile/v1/mutations", content=body, headers=headers)
        answer.raise_for_status()


def streams_run(
    server: ServerProcess,
    dataset: Dataset,
    streams: int,
    hold: float,
    config: dict[str, Any],
    n: int,
    idle_rss: int,
) -> dict[str, Any]:
    work = DATA_DIR / "work"
    work.mkdir(parents=True, exist_ok=True)
    ready, stop = work / f"streams-{n}.ready", work / f"streams-{n}.stop"
    for marker in (ready, stop):
        marker.unlink(missing_ok=True)
    before = server.stat()
    opening_started = time.monotonic()
    holder = spawn(
        "bench.stream_holder",
        {
            "host": "127.0.0.1",
            "port": server.port,
            "tokens": dataset.tokens,
            "streams": streams,
            "ready_file": str(ready),
            "stop_file": str(stop),
            "deadline": 120 + hold + streams / 50,
        },
    )
    while not ready.exists():
        if holder.poll() is not None:
            raise RuntimeError("the stream holder exited early")
        time.sleep(0.05)
    open_seconds = time.monotonic() - opening_started
    time.sleep(1.0)  # let the last streams' first answers finish
    opened = server.stat()
    time.sleep(hold)
    idle = server.stat()
    sent_at = time.time()
    asyncio.run(_push_one(server.base_url, dataset.tokens[0], config, n))
    pushed_at = time.time()
    time.sleep(max(3.0, streams / 500))
    stop.touch()
    result = finish(holder)
    fan_out = [t - sent_at for t in result.pop("moved_at")]
    return {
        "streams": streams,
        "opened": result["opened"],
        "failed": result["failed_count"],
        "failures": result["failed"],
        "ended_by_server": result["ended_by_server"],
        "open_seconds": open_seconds,
        "rss_before": before.rss_bytes,
        "rss_open": opened.rss_bytes,
        # Over the server's RSS before any stream: memory freed by an earlier count's streams stays
        # with the process (the allocator keeps it), so growth over the last count would undercount.
        "idle_rss": idle_rss,
        "bytes_per_stream": (opened.rss_bytes - idle_rss) / max(1, result["opened"]),
        "idle_cpu_share": (idle.cpu_seconds - opened.cpu_seconds) / hold,
        "heartbeats": result["heartbeats"],
        "push_seconds": pushed_at - sent_at,
        "poked": len(fan_out),
        "fan_out_p50": percentile(fan_out, 50),
        "fan_out_p95": percentile(fan_out, 95),
        "fan_out_max": max(fan_out, default=float("nan")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench open-streams", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--streams", type=int, nargs="+", default=[100, 1000, 2000])
    parser.add_argument("--hold", type=float, default=10.0, help="seconds the streams idle before the poke")
    parser.add_argument("--heartbeat", type=float, default=5.0, help="the server's poke_heartbeat_seconds")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    file_limit = _raise_file_limit()
    dataset = ensure(args.db, args.customers)
    rate = asyncio.run(tax_rate_of(dataset.database_url, dataset.organisation_id, dataset.sales_tax_type))
    config = {
        "lines": 2,
        "customer_ids": dataset.customer_ids,
        "product_ids": dataset.product_ids,
        "tax_type": dataset.sales_tax_type,
        "rate": rate,
        "account_code": dataset.revenue_account,
    }
    results: list[dict[str, Any]] = []
    with (
        working_copy(dataset.database_url, args.db, "open-streams") as url,
        ServerProcess(url, poke_heartbeat_seconds=str(args.heartbeat)) as server,
    ):
        n = 0
        idle_rss = server.stat().rss_bytes
        for streams in args.streams:
            for _ in range(args.runs):
                results.append(streams_run(server, dataset, streams, args.hold, config, n, idle_rss))
                n += 1
    rows = [
        [
            r["streams"],
            r["opened"],
            r["failed"] + r["ended_by_server"],
            f"{r['open_seconds']:.1f}",
            f"{r['bytes_per_stream'] / 1024:.1f}",
            f"{r['rss_open'] / 2**20:.0f}",
            f"{100 * r['idle_cpu_share']:.1f}%",
            r["poked"],
            f"{1000 * r['push_seconds']:.0f}",
            f"{1000 * r['fan_out_p50']:.0f}",
            f"{1000 * r['fan_out_p95']:.0f}",
            f"{1000 * r['fan_out_max']:.0f}",
        ]
        for r in results
    ]
    print_table(
        f"Open poke streams ({args.db}, one server process, heartbeat {args.heartbeat:g} s, "
        f"{args.hold:g} s idle; file limit {file_limit})",
        [
            "streams",
            "opened",
            "lost",
            "open s",
            "KiB/stream",
            "RSS MiB",
            "idle CPU",
            "poked",
            "push ms",
            "fan-out p50 ms",
            "p95 ms",
            "all ms",
        ],
        rows,
    )
    if not args.no_write:
        write_results(
            "open-streams",
            args.db,
            {"hold": args.hold, "heartbeat": args.heartbeat, "file_limit": file_limit, "results": results},
        )
    return 0
