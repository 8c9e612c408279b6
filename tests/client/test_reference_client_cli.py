"""``python -m reference_client`` pairs, refreshes, uploads and shows each upload's fate in Xero,
run as a mobile developer would: a process of its own in a fresh clone, no PYTHONPATH."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx

from tests.fixtures.xero_connect import sync_and_wait
from tests.forwarding.conftest import Forwarding
from tests.forwarding.test_edit_merges import xero_user_edits

ROOT = Path(__file__).resolve().parents[2]


async def phone_command(db: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "reference_client",
        "--db",
        str(db),
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def pairing_code(admin: httpx.AsyncClient) -> str:
    issued = await admin.post("/admin/api/devices/pairing-codes", json={"staff_name": "Sam Field"})
    assert issued.status_code == 201, issued.text
    code: str = issued.json()["code"]
    return code


async def test_the_reference_client_pairs_refreshes_uploads_and_shows_the_fate_in_xero(
    forwarding: Forwarding, tmp_path: Path
) -> None:
    db = tmp_path / "phone.sqlite"
    server = str(forwarding.admin.base_url)

    code, out, err = await phone_command(db, "pair", server, await pairing_code(forwarding.admin))
    assert code == 0, err
    assert "paired as Sam Field" in out

    code, out, err = await phone_command(db, "refresh")
    assert code == 0, err
    assert "organisation" in out
    assert "tax_rate" in out

    code, out, err = await phone_command(db, "upload", "--example")
    assert code == 0, out + err
    assert [line.split()[:2] for line in out.splitlines()] == [
        ["applied", "customer"],
        ["applied", "invoice"],
        ["applied", "payment"],
    ]

    code, out, err = await phone_command(db, "status", "--wait", "60", "--json")
    assert code == 0, out + err
    statuses = [json.loads(line) for line in out.splitlines()]
    assert [(s["entity"], s["state"]) for s in statuses] == [
        ("customer", "in_xero"),
        ("invoice", "in_xero"),
        ("payment", "in_xero"),
    ]
    invoice = statuses[1]
    [xero_invoice] = forwarding.xero_invoices_for(invoice["record_id"])
    assert (invoice["xero_id"], invoice["invoice_number"]) == (
        xero_invoice["InvoiceID"],
        xero_invoice["InvoiceNumber"],
    )
    assert xero_invoice["AmountPaid"] == 10


async def test_the_reference_client_uploads_mutations_from_a_file_and_reports_a_rejection(
    forwarding: Forwarding, tmp_path: Path
) -> None:
    db = tmp_path / "phone.sqlite"
    await phone_command(db, "pair", str(forwarding.admin.base_url), await pairing_code(forwarding.admin))
    mutations = tmp_path / "mutations.json"
    customer = {"id": "5b0f7c4e-8a1d-4c39-9d8e-2f6a1b3c4d5e", "name": "Harbour Cafe"}
    payment = {
        "id": "c3a1e2d4-5f60-4b7a-9c8d-e0f1a2b3c4d5",
        "invoice_id": "9e2d4f60-1c3b-4a5e-8f7d-6b5a4c3d2e1f",
        "date": "2026-11-20",
        "amount": "10.00",
    }
    mutations.write_text(
        json.dumps(
            {
                "mutations": [
                    {"op": "upsert_customer", "mutation_id": "cli-1", "customer": customer},
                    {"op": "create_payment", "mutation_id": "cli-2", "payment": payment},
                ]
            }
        )
    )

    code, out, err = await phone_command(db, "upload", str(mutations))

    assert code == 1, out + err
    assert "unknown_invoice" in out
    code, out, err = await phone_command(db, "status", "--json")
    assert [json.loads(line)["state"] for line in out.splitlines()][1] == "rejected"


async def test_the_reference_client_says_how_to_pair_before_it_is_paired(tmp_path: Path) -> None:
    code, _, err = await phone_command(tmp_path / "phone.sqlite", "refresh")

    assert code == 2
    assert "not paired: run `pair URL CODE` first" in err


async def test_watch_refreshes_when_a_change_made_in_xero_pokes_the_phone(
    forwarding: Forwarding, tmp_path: Path
) -> None:
    db = tmp_path / "phone.sqlite"
    code, _, err = await phone_command(
        db, "pair", str(forwarding.admin.base_url), await pairing_code(forwarding.admin)
    )
    assert code == 0, err
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    watcher = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "reference_client", "--db", str(db), "watch", "--refreshes", "1"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert watcher.stdout is not None
        first = await asyncio.wait_for(watcher.stdout.readline(), timeout=60)
        assert first.startswith(b"watching; cursor "), first

        # An office user renames a customer in Xero; the next pull brings it, and the phone is poked.
        contact_id = next(iter(forwarding.xero_org.contacts))
        xero_user_edits(forwarding, contact_id, Name="Renamed While Watching Ltd")
        run = await sync_and_wait(forwarding.admin, ["customers"])
        assert run["status"] == "succeeded", run["errors"]

        out, err_bytes = await asyncio.wait_for(watcher.communicate(), timeout=30)
    finally:
        if watcher.returncode is None:
            watcher.kill()
            await watcher.wait()
    assert watcher.returncode == 0, err_bytes.decode()
    assert "poked at version" in out.decode()
    assert "pulled 1 changes" in out.decode()
