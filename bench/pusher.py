"""Phones pushing batches of new invoices as fast as the server takes them, in a process of their own.

    python -m bench.pusher < config.json > result.json

Config: ``host``, ``port``, ``tokens`` (one phone each, one connection each), ``batch`` (invoices
per push), ``lines`` (per invoice), ``duration``, ``warmup``, and what the invoices refer to:
``customer_ids``, ``product_ids``, ``tax_type`` and its ``rate`` (percent), ``account_code``.
Invoices are built as the reference client builds them (amounts computed with the protocol's
rounding), each with fresh client ids, before the clock starts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import time
import uuid
from decimal import Decimal
from typing import Any

import msgspec

from bench import worker
from bench.http import Connection, request_bytes
from sync_protocol.messages import (
    InvoiceDraft,
    InvoiceLineDraft,
    PushRequest,
    PushResponse,
    UpsertInvoice,
)
from sync_protocol.money import money_text
from sync_protocol.totals import invoice_totals, line_amount, line_tax

_decode = msgspec.json.Decoder(PushResponse).decode


def invoice(config: dict[str, Any], n: int) -> UpsertInvoice:
    rate = Decimal(str(config["rate"]))
    lines = []
    for i in range(int(config["lines"])):
        quantity, unit = Decimal(1 + (n + i) % 5), Decimal(f"{10 + (n * 7 + i * 13) % 200}.95")
        amount = line_amount(quantity, unit, None)
        lines.append(
            InvoiceLineDraft(
                description=f"Line {i}",
                product_id=config["product_ids"][(n + i) % len(config["product_ids"])],
                quantity=str(quantity),
                unit_amount=str(unit),
                account_code=config["account_code"],
                tax_type=config["tax_type"],
                line_amount=money_text(amount),
                tax_amount=money_text(line_tax(amount, rate, "Exclusive")),
            )
        )
    totals = invoice_totals(
        [Decimal(li.line_amount) for li in lines], [Decimal(li.tax_amount) for li in lines], "Exclusive"
    )
    return UpsertInvoice(
        mutation_id=str(uuid.uuid4()),
        invoice=InvoiceDraft(
            id=str(uuid.uuid4()),
            customer_id=config["customer_ids"][n % len(config["customer_ids"])],
            reference=f"Job {n}",
            date=dt.date(2026, 11, 20),
            lines=lines,
            sub_total=money_text(totals.sub_total),
            total_tax=money_text(totals.total_tax),
            total=money_text(totals.total),
        ),
    )


async def run(config: dict[str, Any]) -> dict[str, Any]:
    batch, duration, warmup = int(config["batch"]), float(config["duration"]), float(config["warmup"])
    # Enough pre-built pushes for a generous rate; more are built on the fly if a run outpaces them.
    per_phone = int(config.get("pushes_per_phone", 60))
    counter = iter(range(10**9))
    bodies = [
        [
            msgspec.json.encode(PushRequest(mutations=[invoice(config, next(counter)) for _ in range(batch)]))
            for _ in range(per_phone)
        ]
        for _ in config["tokens"]
    ]
    loop = asyncio.get_running_loop()
    measure_from = loop.time() + warmup
    stop_at = measure_from + duration
    latencies: list[float] = []
    applied = rejected = 0
    rejections: list[str] = []

    async def phone(token: str, mine: list[bytes]) -> None:
        nonlocal applied, rejected
        connection = Connection(config["host"], int(config["port"]))
        await connection.open()
        headers = {
            "X-Ledgersync-Protocol": "1",
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }
        try:
            n = 0
            while loop.time() < stop_at:
                if n < len(mine):
                    body = mine[n]
                else:
                    body = msgspec.json.encode(
                        PushRequest(mutations=[invoice(config, next(counter)) for _ in range(batch)])
                    )
                n += 1
                sent = loop.time()
                answer = await connection.send(
                    request_bytes("POST", "/mobile/v1/mutations", "bench", headers, body)
                )
                done = loop.time()
                if answer.status != 200:
                    rejections.append(f"{answer.status}: {answer.body[:300]!r}")
                    continue
                results = _decode(answer.body).results
                # A push counts when it completes inside the window, whenever it was sent:
                # with long queues most pushes straddle the window's start.
                if measure_from <= done <= stop_at:
                    latencies.append(done - sent)
                    for result in results:
                        if result.status == "applied":
                            applied += 1
                        else:
                            rejected += 1
                            if len(rejections) < 5:
                                rejections.append(f"{result.code}: {result.message} ({result.field})")
        finally:
            await connection.close()

    cpu = time.process_time()
    await asyncio.gather(*(phone(t, b) for t, b in zip(config["tokens"], bodies, strict=True)))
    return {
        "latencies": latencies,
        "applied": applied,
        "rejected": rejected,
        "rejections": rejections[:5],
        "seconds": duration,
        "client_cpu": time.process_time() - cpu,
    }


if __name__ == "__main__":
    sys.exit(worker.serve(run))
