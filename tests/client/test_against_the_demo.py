"""With the demo running (``python -m server demo``, its own process, its embedded Xero sandbox), a
mobile developer's first steps work as docs/protocol.md gives them: the quickstart's curl commands,
and ``python -m reference_client``, each pair, refresh, upload and show the fate in Xero.

The demo is connected as its banner says a newcomer does it: sign in, Connect to Xero, Allow on the
sandbox's consent page (its form, posted as a browser would), then the first pull it starts.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
from tests.client.test_quickstart import bash, quickstart_blocks, with_server
from tests.client.test_reference_client_cli import phone_command
from tests.fixtures.ports import free_port

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Demo:
    url: str
    sandbox_url: str
    admin: httpx.Client  # signed in to the demo's admin API

    def pairing_code(self) -> str:
        issued = self.admin.post("/admin/api/devices/pairing-codes", json={"staff_name": "Sam Field"})
        assert issued.status_code == 201, issued.text
        code: str = issued.json()["code"]
        return code

    def xero_invoices_created(self) -> list[str]:
        """The InvoiceIDs the demo's sandbox created (its ledger of accepted writes)."""
        ledger = httpx.get(f"{self.sandbox_url}/_sandbox/ledger", timeout=10).json()
        return [
            change["id"]
            for entry in ledger
            for change in entry["changes"]
            if change["entity"] == "Invoice" and change["action"] == "create"
        ]


def _ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the demo exited"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the demo never became ready")


def _allow_on_the_consent_page(admin: httpx.Client) -> None:
    """Connect to Xero: ledgersync sends the browser to the sandbox's consent page; Allow; back."""
    start = admin.get("/admin/api/xero/connect")
    assert start.is_redirect, start.text
    with httpx.Client(timeout=10) as browser:
        page = browser.get(start.headers["location"])
        assert page.status_code == 200, page.text
        form = {
            html.unescape(name): html.unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)
        }
        tenants = re.findall(r'name="tenant" value="([^"]+)" checked', page.text)
        assert len(tenants) == 1, page.text
        action = httpx.URL(start.headers["location"]).join("/identity/connect/authorize")
        allowed = browser.post(action, data={**form, "tenant": tenants[0], "decision": "allow"})
    assert allowed.is_redirect, allowed.text
    back = admin.get(allowed.headers["location"], follow_redirects=True)
    assert back.status_code == 200, back.text


def _first_pull_done(admin: httpx.Client) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs: list[dict[str, Any]] = admin.get("/admin/api/sync-runs", params={"kind": "pull"}).json()["runs"]
        if runs and all(run["finished_at"] is not None for run in runs):
            assert all(run["status"] == "succeeded" for run in runs), runs
            return
        time.sleep(0.2)
    raise AssertionError("the demo's first pull did not finish")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERSYNC_")}
    env["PYTHONPATH"] = str(REPO)  # run from an empty folder, so its var/ stays out of the work tree
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "demo", "--port", str(port), "--sandbox-port", str(sandbox_port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _ready(url, process)
        with httpx.Client(base_url=url, timeout=30) as admin:
            session = admin.post(
                "/admin/api/session", json={"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
            )
            assert session.status_code in (200, 201), session.text
            admin.headers["Authorization"] = f"Bearer {session.json()['token']}"
            _allow_on_the_consent_page(admin)
            _first_pull_done(admin)
            yield Demo(url, f"http://127.0.0.1:{sandbox_port}", admin)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.skipif(shutil.which("curl") is None, reason="the quickstart is curl commands")
async def test_the_quickstarts_curl_commands_pair_pull_push_and_show_the_fate_in_xero_against_the_demo(
    demo: Demo,
) -> None:
    setup, pair, pull, push, fate = quickstart_blocks()
    setup = with_server(setup, demo.url, demo.pairing_code())
    marker = "#--- next block ---"
    polled_fate = f"for _ in $(seq 120); do\n  FATE=$({fate.strip()})\n"
    polled_fate += (
        '  case "$FATE" in *\'"state":"in_xero"\'*) break;; esac\n  sleep 0.5\ndone\necho "$FATE"\n'
    )

    out = await bash(
        "".join(f"{block}echo '{marker}'\n" for block in (setup, pair, pull, push)) + polled_fate
    )

    _, paired, pulled, pushed, fated = [part.strip() for part in out.split(marker)]
    assert paired == ""  # the token went into $TOKEN
    page = json.loads(pulled)
    assert (len(page["changes"]), page["has_more"]) == (3, True)
    results = json.loads(pushed)["results"]
    assert [(r["status"], r["entity"]) for r in results] == [("applied", "customer"), ("applied", "invoice")]
    status = json.loads(fated)
    assert (status["state"], status["record_id"]) == ("in_xero", "7a1d3c2f-0e5b-4f68-9c4d-1b2e3f4a5b6c")
    assert status["invoice_number"]
    assert demo.xero_invoices_created() == [status["xero_id"]]


async def test_the_reference_clients_commands_pair_refresh_upload_and_show_the_fate_in_xero_against_the_demo(
    demo: Demo, tmp_path: Path
) -> None:
    db = tmp_path / "phone.sqlite"

    code, out, err = await phone_command(db, "pair", demo.url, demo.pairing_code())
    assert code == 0, out + err
    assert "paired as Sam Field" in out
    code, out, err = await phone_command(db, "refresh")
    assert code == 0, out + err
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
    assert statuses[1]["invoice_number"]
    assert demo.xero_invoices_created() == [statuses[1]["xero_id"]]
