"""Freshness: a change made in Xero, to a phone holding the poke stream having it.

    python -m bench freshness --db sqlite [--changes 30] [--gap 2]

Set-up (not timed): a fresh database; the sandbox (in this process) with Xero's limits, sending
webhooks as Xero batches them to the server's ``/xero/webhooks``; a ``python -m server run`` process
with ``LEDGERSYNC_XERO_WEBHOOK_KEY`` set, one forwarding worker and no scheduled pulls (so only the
webhooks can bring a change). The admin connects and mirrors; a phone uploads the invoices the run
will pay and void, and they are forwarded to Xero. Then the phone (``bench.poked_phone``, a process
of its own) holds ``GET /mobile/v1/pokes`` and pulls on each poke.

Measured: ``--changes`` changes made as a Xero user would (the sandbox's control API), one every
``--gap`` seconds, in turn a contact's email edited, an invoice paid in full and an invoice voided.
Each one's freshness is from the moment this process asked Xero for it to the arrival of the
phone's page holding it (both wall clocks of this machine). Alongside: the webhook pulls the server
made (trigger ``webhook`` in the sync log) and the Xero calls they cost.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import msgspec

from bench import pusher
from bench.dataset import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CLIENT_ID,
    CLIENT_SECRET,
    _facts,
    _mirror,
    _prepare_database,
    tax_rate_of,
)
from bench.forwarding import _settle
from bench.harness import (
    DATA_DIR,
    PG_PREFIX,
    ServerProcess,
    free_port,
    percentile,
    pg_create,
    pg_drop,
    print_table,
    write_results,
)
from bench.worker import finish, spawn
from server.http.serving import serve_in_thread
from sync_protocol.messages import PushRequest, PushResponse
from xero_sandbox import Limits, SandboxConfig, create_sandbox_app

WEBHOOK_KEY = "bench-freshness-webhook-key"
KINDS = ("contact edited", "invoice paid", "invoice voided")


async def _admin(http: httpx.AsyncClient) -> dict[str, str]:
    signed_in = await http.post("/admin/api/session", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    signed_in.raise_for_status()
    return {"Authorization": f"Bearer {signed_in.json()['token']}"}


async def _phone_with_invoices(
    base_url: str, url: str, organisation_id: str, invoices: int
) -> dict[str, Any]:
    """Forwarding accounts set; a phone paired; it uploads ``invoices`` invoices (forwarded to Xero)."""
    facts = await _facts(url, organisation_id)
    rate = await tax_rate_of(url, organisation_id, facts["sales_tax_type"])
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:
        admin = await _admin(http)
        settings = await http.put(
            "/admin/api/settings",
            json={
                "bank_account_code": facts["bank_account"],
                "revenue_account_code": facts["revenue_account"],
            },
            headers=admin,
        )
        assert settings.status_code == 200, settings.text
        code = (
            await http.post("/admin/api/devices/pairing-codes", json={"staff_name": "Bench"}, headers=admin)
        ).json()["code"]
        protocol = {"X-Ledgersync-Protocol": "1"}
        token = (await http.post("/mobile/v1/pair", json={"code": code}, headers=protocol)).json()["token"]
        phone = {**protocol, "Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        config = {
            "lines": 2,
            "customer_ids": facts["customer_ids"],
            "product_ids": facts["product_ids"],
            "tax_type": facts["sales_tax_type"],
            "rate": rate,
            "account_code": facts["revenue_account"],
        }
        drafts = [pusher.invoice(config, n) for n in range(invoices)]
        if drafts:
            answer = await http.post(
                "/mobile/v1/mutations",
                content=msgspec.json.encode(PushRequest(mutations=[*drafts])),
                headers=phone,
            )
            assert answer.status_code == 200, answer.text
            results = msgspec.json.decode(answer.content, type=PushResponse).results
            assert all(r.status == "applied" for r in results), results[:2]
    return {"token": token, "invoices": {d.invoice.reference: d.invoice.id for d in drafts}}


async def _quiet(base_url: str, within: float = 60.0) -> None:
    """Waits until no pull runs (the webhook pulls of the set-up are done)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        admin = await _admin(http)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            runs = (await http.get("/admin/api/sync-runs", params={"limit": 20}, headers=admin)).json()[
                "runs"
            ]
            if all(run["finished_at"] is not None for run in runs):
                return


async def _webhook_runs(base_url: str, since: float) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        admin = await _admin(http)
        runs = (
            await http.get("/admin/api/sync-runs", params={"limit": 200, "kind": "pull"}, headers=admin)
        ).json()["runs"]
    started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since))
    return [r for r in runs if r["trigger"] == "webhook" and r["started_at"][:19] >= started]


async def _cursor(base_url: str, token: str) -> int:
    headers = {"X-Ledgersync-Protocol": "1", "Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        cursor = 0
        while True:
            body = (await http.get("/mobile/v1/changes", params={"cursor": cursor})).json()
            cursor = int(body["cursor"])
            if not body["has_more"]:
                return cursor


def freshness_run(engine: str, changes: int, gap: float, tag: str) -> dict[str, Any]:
    if engine == "sqlite":
        path = DATA_DIR / "work" / f"freshness-{tag}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        url = pg_create(f"{PG_PREFIX}_freshness_{tag}")
    kinds = [KINDS[n % len(KINDS)] for n in range(changes)]
    paid = kinds.count("invoice paid")
    voided = kinds.count("invoice voided")
    try:
        organisation_id = asyncio.run(_prepare_database(url))
        port = free_port()
        redirect = f"http://127.0.0.1:{port}/admin/xero/callback"
        with ExitStack() as stack:
            app = create_sandbox_app(
                SandboxConfig(
                    auto_consent=True,
                    control_api_enabled=True,
                    limits=Limits(),
                    webhook_url=f"http://127.0.0.1:{port}/xero/webhooks",
                    webhook_key=WEBHOOK_KEY,
                    webhook_auto=True,
                )
            )
            sandbox_server = stack.enter_context(serve_in_thread(app))
            sandbox = app.state.sandbox
            sandbox.register_client(CLIENT_ID, CLIENT_SECRET, (redirect,))
            org = sandbox.create_organisation("Bench Freshness (NZ)", "NZ", 2020, max(10, changes), 20)
            server = ServerProcess(
                url,
                port=port,
                xero_client_id=CLIENT_ID,
                xero_client_secret=CLIENT_SECRET,
                xero_redirect_url=redirect,
                xero_login_url=sandbox_server.base_url,
                xero_identity_url=sandbox_server.base_url,
                xero_api_url=sandbox_server.base_url,
                xero_webhook_key=WEBHOOK_KEY,
                forwarding_workers="1",
                forward_poll_seconds="0.2",
            )
            with server:
                run = asyncio.run(_mirror(server.base_url))
                assert run["status"] == "succeeded", run
                phone = asyncio.run(
                    _phone_with_invoices(server.base_url, url, organisation_id, paid + voided)
                )
                counts = asyncio.run(_settle(server.base_url, paid + voided, within=120))
                assert counts.get("done", 0) == paid + voided, counts
                asyncio.run(_quiet(server.base_url))
                in_xero = {str(i.get("Reference")): i for i in org.invoices.values()}
                contacts = list(org.contacts)
                # What each change will be, decided up front so the phone knows when it has them all.
                plan: list[dict[str, Any]] = []
                invoice_refs = iter(sorted(phone["invoices"], key=lambda r: int(r.split()[-1])))
                for n, kind in enumerate(kinds):
                    if kind == "contact edited":
                        contact_id = contacts[n % len(contacts)].lower()
                        email = f"fresh-{n}-{uuid.uuid4().hex[:6]}@bench.example"
                        plan.append(
                            {
                                "kind": kind,
                                "path": f"/organisations/{org.tenant_id}/contacts/{contact_id}",
                                "body": {"EmailAddress": email},
                                "expect": {
                                    "entity": "customer",
                                    "fields": {"xero_id": contact_id, "email": email},
                                },
                            }
                        )
                        continue
                    reference = next(invoice_refs)
                    invoice = in_xero[reference]
                    xero_id = str(invoice["InvoiceID"]).lower()
                    status = "PAID" if kind == "invoice paid" else "VOIDED"
                    plan.append(
                        {
                            "kind": kind,
                            "path": f"/organisations/{org.tenant_id}/invoices/{xero_id}"
                            + ("/payments" if status == "PAID" else "/void"),
                            "body": {"amount": str(invoice["AmountDue"])} if status == "PAID" else None,
                            "expect": {
                                "entity": "invoice",
                                "fields": {"id": phone["invoices"][reference], "status": status},
                            },
                        }
                    )
                cursor = asyncio.run(_cursor(server.base_url, phone["token"]))
                work = DATA_DIR / "work"
                ready, stop = work / f"freshness-{tag}.ready", work / f"freshness-{tag}.stop"
                for marker in (ready, stop):
                    marker.unlink(missing_ok=True)
                holder = spawn(
                    "bench.poked_phone",
                    {
                        "base_url": server.base_url,
                        "token": phone["token"],
                        "cursor": cursor,
                        "ready_file": str(ready),
                        "stop_file": str(stop),
                        "tail": 15,
                        "expect": [p["expect"] for p in plan],
                        "deadline": 60 + changes * (gap + 5),
                    },
                )
                deadline = time.monotonic() + 60
                while not ready.exists():
                    assert time.monotonic() < deadline, "the phone did not open its poke stream"
                    time.sleep(0.05)
                window_started = time.time()
                deliveries_before = len(sandbox.webhooks.deliveries)
                control = httpx.Client(base_url=sandbox_server.base_url + "/_sandbox", timeout=30)
                for step in plan:
                    time.sleep(gap)
                    step["at"] = time.time()
                    answer = control.post(step["path"], json=step["body"])
                    assert answer.status_code < 300, answer.text
                control.close()
                stop.touch()
                seen = finish(holder)
                webhook_runs = asyncio.run(_webhook_runs(server.base_url, window_started))
            # The window's deliveries only (the set-up's forwarded invoices made some too).
            deliveries = [d for d in sandbox.webhooks.deliveries[deliveries_before:] if d.body.get("events")]
        for step in plan:
            expected = step["expect"]
            arrived = [
                entry["t"]
                for entry in seen["log"]
                if entry["entity"] == expected["entity"]
                and all(
                    str(entry.get(k) or "").lower() == str(v).lower() for k, v in expected["fields"].items()
                )
                and entry["t"] >= step["at"]
            ]
            step["seconds"] = (min(arrived) - step["at"]) if arrived else None
        latencies = [s["seconds"] for s in plan if s["seconds"] is not None]
        by_kind = {
            kind: [s["seconds"] for s in plan if s["kind"] == kind and s["seconds"] is not None]
            for kind in KINDS
        }
        return {
            "changes": changes,
            "gap": gap,
            "received": len(latencies),
            "missing": [s["kind"] for s in plan if s["seconds"] is None],
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "max": max(latencies, default=float("nan")),
            "by_kind": {
                k: {"n": len(v), "p50": percentile(v, 50), "p95": percentile(v, 95)}
                for k, v in by_kind.items()
            },
            "phone": {"pokes": seen["pokes"], "pulls": seen["pulls"], "error": seen["error"]},
            "webhook_pulls": len(webhook_runs),
            "webhook_xero_calls": sum(r["xero_calls"] for r in webhook_runs),
            "deliveries": len(deliveries),
            "events_delivered": sum(len(d.body["events"]) for d in deliveries),
            "latencies": latencies,
        }
    finally:
        if engine == "postgresql":
            pg_drop(f"{PG_PREFIX}_freshness_{tag}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench freshness", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--gap", type=float, default=2.0, help="seconds between two changes in Xero")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    runs = [freshness_run(args.db, args.changes, args.gap, str(n)) for n in range(args.runs)]
    rows = []
    for run in runs:
        for kind, figures in [
            ("all", {"n": run["received"], "p50": run["p50"], "p95": run["p95"]}),
            *run["by_kind"].items(),
        ]:
            rows.append([kind, figures["n"], f"{figures['p50']:.2f}", f"{figures['p95']:.2f}"])
        rows.append(
            [
                "webhooks",
                f"{run['deliveries']} deliveries / {run['events_delivered']} events",
                f"{run['webhook_pulls']} pulls",
                f"{run['webhook_xero_calls']} Xero calls",
            ]
        )
    print_table(
        f"Freshness ({args.db}, {args.changes} changes in Xero, one every {args.gap:g} s): seconds from the "
        "change in Xero to the phone's page holding it",
        ["change", "n", "p50 s", "p95 s"],
        rows,
    )
    if not args.no_write:
        write_results("freshness", args.db, {"changes": args.changes, "gap": args.gap, "runs": runs})
    return 0
