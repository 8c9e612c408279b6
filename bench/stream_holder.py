"""Many idle phones holding ``GET /mobile/v1/pokes`` open, in a process of their own (open-streams).

    python -m bench.stream_holder < config.json > result.json

Config: ``host``, ``port``, ``tokens`` (used in turn: several streams may share a device), ``streams``,
``ready_file`` (created once every stream has its first poke, the feed's current version),
``stop_file`` (close them all once it exists), ``deadline`` (seconds, at most), ``opening`` (streams
being opened at once). Each stream is a bare connection reading the event stream's bytes: a client
this lean costs the machine little next to the server it measures. Reported: streams opened, the
wall time (``time.time``) each received its first poke past the first (the fan-out), heartbeats,
and streams the server ended.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from pathlib import Path
from typing import Any

from bench import worker
from bench.http import request_bytes

_POKE = re.compile(rb"event: poke\nid: (\d+)\n")


async def run(config: dict[str, Any]) -> dict[str, Any]:
    host, port = config["host"], int(config["port"])
    tokens: list[str] = config["tokens"]
    count = int(config["streams"])
    ready_file, stop_file = Path(config["ready_file"]), Path(config["stop_file"])
    opening = asyncio.Semaphore(int(config.get("opening", 64)))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + float(config.get("deadline", 300))
    first: list[int | None] = [None] * count
    moved_at: list[float | None] = [None] * count
    heartbeats = 0
    ended = 0
    failed: list[str] = []
    writers: list[asyncio.StreamWriter] = []

    async def hold(n: int) -> None:
        nonlocal heartbeats, ended
        headers = {
            "X-Ledgersync-Protocol": "1",
            "Authorization": f"Bearer {tokens[n % len(tokens)]}",
            "Accept": "text/event-stream",
        }
        try:
            async with opening:
                reader, writer = await asyncio.open_connection(host, port)
                writers.append(writer)
                writer.write(request_bytes("GET", "/mobile/v1/pokes", "bench", headers))
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    failed.append(head.split(b"\r\n", 1)[0].decode())
                    return
            buffer = b""
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    ended += 1
                    return
                buffer += chunk
                heartbeats += chunk.count(b": heartbeat")
                for match in _POKE.finditer(buffer):
                    version = int(match[1])
                    if first[n] is None:
                        first[n] = version
                    elif moved_at[n] is None and version > (first[n] or 0):
                        moved_at[n] = time.time()
                buffer = buffer[-256:]  # an event cut between two reads is found next time
        except (OSError, asyncio.IncompleteReadError) as exc:
            failed.append(repr(exc))

    tasks = [loop.create_task(hold(n)) for n in range(count)]
    while loop.time() < deadline and any(v is None for v in first) and len(failed) < count:
        if all(t.done() for t in tasks):
            break
        await asyncio.sleep(0.05)
    opened = sum(v is not None for v in first)
    await asyncio.to_thread(ready_file.touch)
    while loop.time() < deadline:
        if await asyncio.to_thread(stop_file.exists):
            break
        await asyncio.sleep(0.05)
    for writer in writers:
        writer.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "opened": opened,
        "failed": failed[:10],
        "failed_count": len(failed),
        "moved_at": [t for t in moved_at if t is not None],
        "heartbeats": heartbeats,
        "ended_by_server": ended,
    }


if __name__ == "__main__":
    sys.exit(worker.serve(run))
