"""One phone holding the poke stream and pulling on each poke, in a process of its own (freshness).

    python -m bench.poked_phone < config.json > result.json

Config: ``base_url``, ``token``, ``cursor`` (where its mirror starts), ``ready_file`` (created once the
stream is open and the phone has caught up), ``stop_file`` and ``tail`` (stop ``tail`` s after the
scenario creates it), ``expect`` (a list of ``{"entity", "fields": {...}}``: the phone stops early once
it has received a change matching each), ``deadline`` (seconds, at most).

As a real app does: ``GET /mobile/v1/pokes`` (SSE); on each poke past its cursor, ``GET
/mobile/v1/changes`` until caught up. Every change received is logged with the wall time (``time.time``)
its page arrived, so the scenario can match it with the moment it made the change in Xero.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench import worker

FIELDS = ("email", "status", "xero_id")


def _matches(change: dict[str, Any], expectation: dict[str, Any]) -> bool:
    if change["entity"] != expectation["entity"]:
        return False
    return all(str(change.get(k) or "").lower() == str(v).lower() for k, v in expectation["fields"].items())


async def run(config: dict[str, Any]) -> dict[str, Any]:
    headers = {"X-Ledgersync-Protocol": "1", "Authorization": f"Bearer {config['token']}"}
    cursor = int(config["cursor"])
    stop_file, ready_file = Path(config["stop_file"]), Path(config["ready_file"])
    pending: list[dict[str, Any]] = list(config.get("expect", []))
    log: list[dict[str, Any]] = []
    pokes = pulls = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + float(config.get("deadline", 300))
    done = asyncio.Event()

    async with httpx.AsyncClient(
        base_url=config["base_url"], headers=headers, timeout=httpx.Timeout(30, read=120)
    ) as http:

        async def catch_up() -> None:
            nonlocal cursor, pulls
            while True:
                answer = await http.get("/mobile/v1/changes", params={"cursor": cursor})
                answer.raise_for_status()
                arrived = time.time()
                pulls += 1
                body = answer.json()
                for change in body["changes"]:
                    record = change.get("record") or {}
                    entry = {"t": arrived, "entity": change["entity"], "id": change["id"]}
                    entry.update({k: record.get(k) for k in FIELDS})
                    log.append(entry)
                    for expectation in [e for e in pending if _matches(entry, e)]:
                        pending.remove(expectation)
                cursor = int(body["cursor"])
                if not body["has_more"]:
                    break
            if not pending and config.get("expect"):
                done.set()

        async def listen() -> None:
            nonlocal pokes
            stream_headers = {"Accept": "text/event-stream"}
            async with http.stream("GET", "/mobile/v1/pokes", headers=stream_headers) as response:
                response.raise_for_status()
                event: dict[str, str] = {}
                async for line in response.aiter_lines():
                    if line:
                        name, _, value = line.partition(":")
                        event[name] = value.strip()
                        continue
                    if event.get("event") == "poke" and int(event.get("id", "0")) > cursor:
                        pokes += 1
                        await catch_up()
                    if event.get("event") == "poke" and not await asyncio.to_thread(ready_file.exists):
                        await catch_up()
                        await asyncio.to_thread(ready_file.touch)
                    event = {}

        listener = loop.create_task(listen())
        stop_at: float | None = None
        while not done.is_set() and loop.time() < deadline and not listener.done():
            if stop_at is None and await asyncio.to_thread(stop_file.exists):
                stop_at = loop.time() + float(config.get("tail", 10))
            if stop_at is not None and loop.time() >= stop_at:
                break
            await asyncio.sleep(0.05)
        listener.cancel()
        error = None
        try:
            await listener
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # reported, not raised: the scenario shows what the phone saw
            error = repr(exc)
    return {"log": log, "pokes": pokes, "pulls": pulls, "unmet": pending, "error": error}


if __name__ == "__main__":
    sys.exit(worker.serve(run))
