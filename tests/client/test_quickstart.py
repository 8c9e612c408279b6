"""The quickstart of docs/protocol.md, its curl commands run as written, pair a phone, pull, push and
show the fate in Xero: against a server connected to the Xero sandbox, with only the server's URL and
a fresh pairing code put in."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.client.test_reference_client_cli import pairing_code
from tests.forwarding.conftest import Forwarding

PROTOCOL_DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def quickstart_blocks() -> list[str]:
    section = PROTOCOL_DOC.read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def with_server(block: str, server: str, code: str) -> str:
    block = re.sub(r"^SERVER=\S+$", f"SERVER={server}", block, count=1, flags=re.M)
    return re.sub(r"^CODE=\S+$", f"CODE={code}", block, count=1, flags=re.M)


async def bash(script: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        "set -euo pipefail\n" + script,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, f"{script}\n--- stdout\n{out.decode()}\n--- stderr\n{err.decode()}"
    return out.decode()


def test_the_quickstart_sets_the_server_and_code_then_pairs_pulls_pushes_and_asks_the_fate() -> None:
    setup, pair, pull, push, fate = quickstart_blocks()
    assert re.search(r"^SERVER=", setup, re.M)
    assert re.search(r"^CODE=", setup, re.M)
    assert "/mobile/v1/pair" in pair
    assert "/mobile/v1/changes" in pull
    assert "/mobile/v1/mutations" in push
    assert "/mobile/v1/uploads/" in fate


@pytest.mark.skipif(shutil.which("curl") is None, reason="the quickstart is curl commands")
async def test_the_quickstart_pairs_pulls_pushes_and_shows_the_fate_in_xero(forwarding: Forwarding) -> None:
    setup, pair, pull, push, fate = quickstart_blocks()
    setup = with_server(
        setup, str(forwarding.admin.base_url).rstrip("/"), await pairing_code(forwarding.admin)
    )
    marker = "\n#--- next block ---\n"
    # One shell, as a developer would paste them; the fate is asked again until Xero has the invoice.
    polled_fate = f"for _ in $(seq 120); do\n  FATE=$({fate.strip()})\n"
    polled_fate += (
        '  case "$FATE" in *\'"state":"in_xero"\'*) break;; esac\n  sleep 0.5\ndone\necho "$FATE"\n'
    )
    out = await bash(
        "".join(f"{block}echo '{marker.strip()}'\n" for block in (setup, pair, pull, push)) + polled_fate
    )

    _, _, pulled, pushed, fated = [part.strip() for part in out.split(marker.strip())]
    page = json.loads(pulled)
    assert len(page["changes"]) == 3
    assert page["has_more"] is True
    results = json.loads(pushed)["results"]
    assert [(r["status"], r["entity"]) for r in results] == [("applied", "customer"), ("applied", "invoice")]
    status = json.loads(fated)
    assert status["state"] == "in_xero"
    xero_invoice = forwarding.xero_invoice_for(status["record_id"])
    assert (status["xero_id"], status["invoice_number"]) == (
        xero_invoice["InvoiceID"],
        xero_invoice["InvoiceNumber"],
    )
    assert xero_invoice["Total"] == 115
