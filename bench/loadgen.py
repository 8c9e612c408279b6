"""Simulated phones polling ``/mobile/v1/changes``, in a process of their own.

    python -m bench.loadgen < config.json > result.json

Config: ``host``, ``port``, ``tokens`` (one per phone), ``cursor`` (where every phone starts),
``connections``, ``duration`` and ``warmup`` (seconds), ``interval`` (seconds between one phone's
polls; 0 = as fast as the server answers), ``etag`` (send ``If-None-Match`` like the reference
client), ``marker`` (a regex whose first group numbers the writer's batches: receipts of each are
timed for the busy scenario).

Phone i is polled over connection i % connections; each connection works through its phones in
turn, one request at a time (HTTP/1.1 keep-alive), as a pool of phones sharing a proxy would.
A phone whose answer says ``has_more`` pulls again at once. Latency is send → last byte.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from typing import Any

from bench import worker
from bench.http import Connection, request_bytes

_TAIL = re.compile(rb'"cursor":(\d+),"has_more":(true|false)\}\s*$')


class Phone:
    __slots__ = ("cursor", "due", "etag", "token")

    def __init__(self, token: str, cursor: int, due: float) -> None:
        self.token = token
        self.cursor = cursor
        self.etag: str | None = None
        self.due = due

    def request(self, limit: int, send_etag: bool) -> bytes:
        headers = {"X-Ledgersync-Protocol": "1", "Authorization": f"Bearer {self.token}"}
        if send_etag and self.etag:
            headers["If-None-Match"] = self.etag
        return request_bytes(
            "GET", f"/mobile/v1/changes?cursor={self.cursor}&limit={limit}", "bench", headers
        )


async def run(config: dict[str, Any]) -> dict[str, Any]:
    host, port = config["host"], int(config["port"])
    connections = int(config["connections"])
    duration, warmup = float(config["duration"]), float(config.get("warmup", 2.0))
    interval = float(config.get("interval", 0.0))
    send_etag = bool(config.get("etag", True))
    limit = int(config.get("limit", 5000))
    marker = re.compile(config["marker"].encode()) if config.get("marker") else None
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + warmup
    stop_at = measure_from + duration
    tokens: list[str] = config["tokens"]
    # Spread first polls over one interval so phones do not all poll in step.
    phones = [
        Phone(t, int(config["cursor"]), start + (interval * i / len(tokens) if interval else 0.0))
        for i, t in enumerate(tokens)
    ]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    receipts: dict[str, list[float]] = {}
    errors: list[str] = []
    changes_received = 0

    async def worker(mine: list[Phone]) -> None:
        nonlocal changes_received
        connection = Connection(host, port)
        await connection.open()
        try:
            while True:
                for phone in mine:
                    now = loop.time()
                    if now >= stop_at:
                        return
                    if phone.due > now:
                        await asyncio.sleep(phone.due - now)
                    has_more = True
                    while has_more:
                        sent = loop.time()
                        if sent >= stop_at:
                            return
                        try:
                            answer = await connection.send(phone.request(limit, send_etag))
                        except (OSError, asyncio.IncompleteReadError) as exc:
                            errors.append(repr(exc))
                            await connection.close()
                            await connection.open()
                            break
                        done = loop.time()
                        has_more = False
                        if sent >= measure_from:
                            latencies.append(done - sent)
                            statuses[answer.status] = statuses.get(answer.status, 0) + 1
                        if answer.status == 200:
                            if "etag" in answer.headers:
                                phone.etag = answer.headers["etag"]
                            match = _TAIL.search(answer.body[-80:])
                            if match:
                                phone.cursor = int(match[1])
                                has_more = match[2] == b"true"
                            if marker is not None:
                                wall = time.time()
                                found = set(marker.findall(answer.body))
                                changes_received += answer.body.count(b'"version":')
                                for batch in found:
                                    receipts.setdefault(batch.decode(), []).append(wall)
                    phone.due = max(phone.due + interval, loop.time()) if interval else 0.0
        finally:
            await connection.close()

    groups = [phones[i::connections] for i in range(connections)]
    cpu_started = time.process_time()
    await asyncio.gather(*(worker(group) for group in groups if group))
    return {
        "requests": len(latencies),
        "seconds": duration,
        "latencies": latencies,
        "statuses": statuses,
        "receipts": receipts,
        "changes_received": changes_received,
        "errors": errors[:20],
        "error_count": len(errors),
        "client_cpu": time.process_time() - cpu_started,
    }


if __name__ == "__main__":
    sys.exit(worker.serve(run))
