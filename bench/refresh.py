"""Full refresh: one phone pulls everything from nothing; and the floor it is compared with.

    python -m bench refresh --db sqlite [--customers 5000 50000 200000] [--runs 5]
    python -m bench floor --db sqlite          (the floor alone)

Full refresh: a real server process serves ``GET /mobile/v1/changes?cursor=0&limit=100000`` (and
the next pages while ``has_more``) to a client in this process, once per encoding (none, gzip,
zstd). Wall time is from sending each page's request to its last byte, summed over pages (the
client's own decompression between pages is not counted). Also: bytes on the wire and
decompressed, the server process's CPU time (``/proc``), and its peak RSS above idle (the kernel's
high-water mark, reset before each run).

Floor: the same rows read straight from the database with the plain driver (sqlite3 / asyncpg),
in version order, turned into the same bytes with the server's own row encoder, in this process,
no HTTP; plus gzip-1 and zstd-1 of those bytes. ``refresh / floor`` says how close to the limit
the pull path runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import re
import sqlite3
import time
import zlib
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec

from bench.dataset import Dataset, ensure
from bench.harness import ServerProcess, Spread, asyncpg_dsn, print_table, sqlite_path, write_results
from bench.http import Connection, request_bytes
from server.core.pull import MAX_LIMIT, _row_bytes, _tail
from sync_protocol.version import PROTOCOL_HEADER, PROTOCOL_VERSION

ENCODINGS = ("identity", "gzip", "zstd")
_TAIL = re.compile(rb'"cursor":(\d+),"has_more":(true|false)\}\s*$')
MB = 1 / 1e6
MS = 1000.0

_zstd_decompressor: Any = None


def decode_body(body: bytes, content_encoding: str) -> bytes:
    if content_encoding == "gzip":
        return gzip.decompress(body)
    if content_encoding == "zstd":
        global _zstd_decompressor
        import zstandard

        if _zstd_decompressor is None:
            _zstd_decompressor = zstandard.ZstdDecompressor()
        return bytes(_zstd_decompressor.decompressobj().decompress(body))
    if content_encoding in ("", "identity"):
        return body
    raise ValueError(f"unexpected Content-Encoding {content_encoding!r}")


class _Page(msgspec.Struct):
    changes: list[msgspec.Raw]
    cursor: int
    has_more: bool


@dataclass
class PullRun:
    wall: float
    pages: int
    wire_bytes: int
    raw_bytes: int
    records: int
    cpu: float
    peak_rss_above_idle: int
    idle_rss: int
    content_encoding: str


async def full_pull(
    server: ServerProcess, token: str, encoding: str, limit: int = MAX_LIMIT, verify: bool = False
) -> PullRun:
    connection = Connection("127.0.0.1", server.port)
    await connection.open()
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION), "Authorization": f"Bearer {token}"}
    if encoding != "identity":
        headers["Accept-Encoding"] = encoding
    idle = server.stat()
    server.reset_peak()
    cursor, wall, pages, wire, raw, records = 0, 0.0, 0, 0, 0, 0
    content_encoding = ""
    try:
        while True:
            request = request_bytes(
                "GET", f"/mobile/v1/changes?cursor={cursor}&limit={limit}", "bench", headers
            )
            started = time.perf_counter()
            answer = await connection.send(request)
            wall += time.perf_counter() - started
            if answer.status != 200:
                raise RuntimeError(f"pull answered {answer.status}: {answer.body[:300]!r}")
            content_encoding = answer.headers.get("content-encoding", "")
            body = decode_body(answer.body, content_encoding)
            pages += 1
            wire += answer.wire_bytes
            raw += len(body)
            if verify:
                page = msgspec.json.decode(body, type=_Page)
                records += len(page.changes)
                cursor, has_more = page.cursor, page.has_more
            else:
                match = _TAIL.search(body[-100:])
                assert match, body[-100:]
                cursor, has_more = int(match[1]), match[2] == b"true"
            if not has_more:
                break
    finally:
        await connection.close()
    after = server.stat()
    return PullRun(
        wall=wall,
        pages=pages,
        wire_bytes=wire,
        raw_bytes=raw,
        records=records,
        cpu=after.cpu_seconds - idle.cpu_seconds,
        peak_rss_above_idle=after.peak_rss_bytes - idle.rss_bytes,
        idle_rss=idle.rss_bytes,
        content_encoding=content_encoding or "identity",
    )


# --- floor -------------------------------------------------------------------------------------------

_FLOOR_SQL = (
    "SELECT entity, entity_id, version, payload FROM sync_records "
    "WHERE organisation_id = (SELECT organisation_id FROM sync_counters LIMIT 1) "
    "AND version > {after} AND payload IS NOT NULL ORDER BY version LIMIT {limit}"
)


def _encode_pages(rows_of_page: list[list[tuple[Any, ...]]], latest: int, limit: int) -> list[bytes]:
    bodies = []
    for rows in rows_of_page:
        has_more = len(rows) > limit
        rows = rows[:limit]
        parts = [_row_bytes(e, i, v, bytes(p)) for e, i, v, p in rows]
        cursor = rows[-1][2] if has_more else latest
        bodies.append(b'{"changes":[' + b",".join(parts) + _tail(cursor, has_more))
    return bodies


def floor_sqlite(dataset: Dataset, limit: int) -> tuple[float, list[bytes]]:
    started = time.perf_counter()
    conn = sqlite3.connect(sqlite_path(dataset.database_url))
    try:
        bodies, after = [], 0
        while True:
            rows = conn.execute(_FLOOR_SQL.format(after=after, limit=limit + 1)).fetchall()
            body = _encode_pages([rows], dataset.latest, limit)[0]
            bodies.append(body)
            if len(rows) <= limit:
                break
            after = rows[limit - 1][2]
    finally:
        conn.close()
    return time.perf_counter() - started, bodies


async def floor_postgres(dataset: Dataset, limit: int) -> tuple[float, list[bytes]]:
    conn = await asyncpg.connect(asyncpg_dsn(dataset.database_url))
    try:
        started = time.perf_counter()
        bodies, after = [], 0
        while True:
            rows = await conn.fetch(_FLOOR_SQL.format(after=after, limit=limit + 1))
            body = _encode_pages([[tuple(r) for r in rows]], dataset.latest, limit)[0]
            bodies.append(body)
            if len(rows) <= limit:
                break
            after = rows[limit - 1][2]
        return time.perf_counter() - started, bodies
    finally:
        await conn.close()


def measure_floor(dataset: Dataset, runs: int, limit: int = MAX_LIMIT) -> dict[str, Any]:
    import zstandard

    walls, gzips, zstds = [], [], []
    raw = gz = zs = 0
    compressor = zstandard.ZstdCompressor(level=1)
    for _ in range(runs + 1):  # the first run warms the page cache and is dropped
        if dataset.engine == "sqlite":
            wall, bodies = floor_sqlite(dataset, limit)
        else:
            wall, bodies = asyncio.run(floor_postgres(dataset, limit))
        started = time.perf_counter()
        gz = sum(len(zlib.compress(b, 1)) for b in bodies)
        gzip_seconds = time.perf_counter() - started
        started = time.perf_counter()
        zs = sum(len(compressor.compress(b)) for b in bodies)
        zstd_seconds = time.perf_counter() - started
        raw = sum(len(b) for b in bodies)
        walls.append(wall)
        gzips.append(wall + gzip_seconds)
        zstds.append(wall + zstd_seconds)
    return {
        "identity": {"wall": Spread.of(walls[1:]).json(), "bytes": raw},
        "gzip": {"wall": Spread.of(gzips[1:]).json(), "bytes": gz},
        "zstd": {"wall": Spread.of(zstds[1:]).json(), "bytes": zs},
    }


# --- the scenario ----------------------------------------------------------------------------------


def run_size(dataset: Dataset, encodings: list[str], runs: int, limit: int) -> dict[str, Any]:
    out: dict[str, Any] = {"customers": dataset.customers, "records": dataset.records, "encodings": {}}
    with ServerProcess(dataset.database_url) as server:
        check = asyncio.run(full_pull(server, dataset.tokens[0], "identity", limit, verify=True))
        if check.records != dataset.records:
            raise RuntimeError(f"pulled {check.records} records, the dataset has {dataset.records}")
        for encoding in encodings:
            results = [
                asyncio.run(full_pull(server, dataset.tokens[0], encoding, limit)) for _ in range(runs)
            ]
            out["encodings"][encoding] = {
                "served_as": results[-1].content_encoding,
                "pages": results[-1].pages,
                "wall": Spread.of([r.wall for r in results]).json(),
                "wire_bytes": results[-1].wire_bytes,
                "raw_bytes": results[-1].raw_bytes,
                "cpu": Spread.of([r.cpu for r in results]).json(),
                "peak_rss_above_idle": Spread.of([r.peak_rss_above_idle for r in results]).json(),
                "idle_rss": results[-1].idle_rss,
            }
    return out


def _show(spread: dict[str, Any], scale: float, digits: int = 0) -> str:
    s = Spread(spread["median"], spread["min"], spread["max"])
    return s.show(scale, digits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench refresh", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--customers", type=int, nargs="+", default=[5000, 50_000, 200_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=MAX_LIMIT, help="page size asked for")
    parser.add_argument("--encodings", nargs="+", choices=ENCODINGS, default=list(ENCODINGS))
    parser.add_argument("--floor-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print, do not write bench/results")
    args = parser.parse_args(argv)

    sizes: list[dict[str, Any]] = []
    rows = []
    floor_rows = []
    for customers in args.customers:
        dataset = ensure(args.db, customers)
        floor = measure_floor(dataset, args.runs, args.limit)
        entry: dict[str, Any] = {"customers": customers, "records": dataset.records, "floor": floor}
        for encoding in args.encodings:
            f = floor[encoding]
            floor_rows.append(
                [customers, dataset.records, encoding, _show(f["wall"], MS), f"{f['bytes'] * MB:.1f}"]
            )
        if not args.floor_only:
            served = run_size(dataset, args.encodings, args.runs, args.limit)
            entry.update(served)
            raw_identity = served["encodings"].get("identity", {}).get("raw_bytes")
            for encoding, r in served["encodings"].items():
                ratio = r["wall"]["median"] / floor[encoding]["wall"]["median"]
                share = f"{100 * r['wire_bytes'] / raw_identity:.1f}%" if raw_identity else "-"
                rows.append(
                    [
                        customers,
                        encoding if r["served_as"] == encoding else f"{encoding}->{r['served_as']}",
                        r["pages"],
                        _show(r["wall"], MS),
                        f"{ratio:.1f}x",
                        f"{r['wire_bytes'] * MB:.1f}",
                        share,
                        _show(r["cpu"], MS),
                        _show(r["peak_rss_above_idle"], MB, 1),
                        f"{r['idle_rss'] * MB:.0f}",
                    ]
                )
        sizes.append(entry)
    print_table(
        f"Floor ({args.db}): rows read with the plain driver and encoded in-process; "
        f"median (min-max) of {args.runs}",
        ["customers", "records", "encoding", "ms", "MB"],
        floor_rows,
    )
    if rows:
        print_table(
            f"Full refresh ({args.db}, limit {args.limit}): median (min-max) of {args.runs} runs",
            [
                "customers",
                "encoding",
                "pages",
                "wall ms",
                "/floor",
                "wire MB",
                "of raw",
                "server CPU ms",
                "peak RSS +MB",
                "idle RSS MB",
            ],
            rows,
        )
    if not args.no_write:
        write_results("floor" if args.floor_only else "refresh", args.db, {"runs": args.runs, "sizes": sizes})
    return 0
