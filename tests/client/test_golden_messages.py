"""The golden messages (``mobile_api/golden/*.json``: the OpenAPI examples, shown in docs/protocol.md)
are what a real server sends: this test plays the documented day - pair, pull, a change in Xero,
push, fate, a resync and a malformed push - against ledgersync connected to the Xero sandbox, and
compares every message with its golden file, ids and timestamps normalised (nothing else).

    LEDGERSYNC_REGENERATE_GOLDEN=1 ./dev test tests/client/test_golden_messages.py -n 0

writes the files anew from the run and puts the new messages in docs/protocol.md in place of the old.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from mobile_api.examples import CUSTOMER_ID, GOLDEN, INVOICE_ID, PAYMENT_ID
from tests.fixtures.devices import PROTOCOL
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import connect, sync_and_wait
from tests.forwarding.conftest import BANK, SALES, settle

PROTOCOL_DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
REGENERATE = os.environ.get("LEDGERSYNC_REGENERATE_GOLDEN") == "1"
# The ids the phone makes: the same in every run, so never normalised.
CLIENT_IDS = {CUSTOMER_ID, INVOICE_ID, PAYMENT_ID}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
TOKEN = re.compile(r"ls_dev_[A-Za-z0-9_-]+")
PAIRING_CODE = "KQ7MX-P2DRT"


class Normaliser:
    """Replaces each server-made id and timestamp by a stable stand-in, in order of appearance, so
    one run's messages compare equal to another's, and the same id stays the same across messages."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def _stand_in(self, found: str, kind: str) -> str:
        if found not in self._seen:
            n = len(self._seen)
            if kind == "uuid":
                self._seen[found] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ledgersync-golden-{n}"))
            elif kind == "token":
                self._seen[found] = "ls_dev_8Hq1Zc0mYk3V9pQ2wX7rT5uB4nL6sD1eF0gJ2hK3iM4"
            else:
                self._seen[found] = f"2026-11-20T21:{n % 60:02d}:11.120000Z"
        return self._seen[found]

    def text(self, value: str) -> str:
        value = TOKEN.sub(lambda m: self._stand_in(m.group(0), "token"), value)
        value = TIMESTAMP.sub(lambda m: self._stand_in(m.group(0), "timestamp"), value)
        return UUID.sub(
            lambda m: m.group(0) if m.group(0) in CLIENT_IDS else self._stand_in(m.group(0), "uuid"), value
        )

    def __call__(self, message: Any) -> Any:
        if isinstance(message, dict):
            return {key: self(value) for key, value in message.items()}
        if isinstance(message, list):
            return [self(value) for value in message]
        return self.text(message) if isinstance(message, str) else message


def push_request(product_id: str, amount: str) -> dict[str, Any]:
    return {
        "mutations": [
            {
                "op": "upsert_customer",
                "mutation_id": "m-0001-7f3e",
                "customer": {
                    "id": CUSTOMER_ID,
                    "name": "Harbour Cafe",
                    "email": "accounts@harbourcafe.example",
                },
            },
            {
                "op": "upsert_invoice",
                "mutation_id": "m-0002-7f3e",
                "invoice": {
                    "id": INVOICE_ID,
                    "customer_id": CUSTOMER_ID,
                    "reference": "Job 1182",
                    "date": "2026-11-20",
                    "due_date": "2026-12-20",
                    "line_amount_type": "Exclusive",
                    "lines": [
                        {
                            "description": "Tap washer kit",
                            "product_id": product_id,
                            "quantity": "2",
                            "unit_amount": "49.95",
                            "tax_type": "OUTPUT2",
                            "line_amount": "99.90",
                            "tax_amount": "14.99",
                        },
                        {
                            "description": "Labour",
                            "quantity": "1",
                            "unit_amount": "120.00",
                            "discount_rate": "10",
                            "account_code": SALES,
                            "tax_type": "OUTPUT2",
                            "line_amount": "108.00",
                            "tax_amount": "16.20",
                        },
                    ],
                    "sub_total": "207.90",
                    "total_tax": "31.19",
                    "total": "239.09",
                },
            },
            {
                "op": "create_payment",
                "mutation_id": "m-0003-7f3e",
                "payment": {
                    "id": PAYMENT_ID,
                    "invoice_id": INVOICE_ID,
                    "account_code": BANK,
                    "date": "2026-11-20",
                    "amount": amount,
                    "reference": "Cash on site",
                },
            },
        ]
    }


async def play_the_documented_day(
    admin: httpx.AsyncClient, sandbox: RunningSandbox, tenant_id: str
) -> dict[str, Any]:
    """Every golden message, as this run's server sent (or took) it."""
    messages: dict[str, Any] = {}
    issued = await admin.post("/admin/api/devices/pairing-codes", json={"staff_name": "Sam Field"})
    code = issued.json()["code"]
    async with httpx.AsyncClient(base_url=str(admin.base_url), headers=PROTOCOL, timeout=30) as http:
        messages["pair_request"] = {"code": PAIRING_CODE, "device_name": "Sam's phone"}
        paired = await http.post("/mobile/v1/pair", json={**messages["pair_request"], "code": code})
        assert paired.status_code == 201, paired.text
        messages["pair_response"] = paired.json()
        http.headers["Authorization"] = f"Bearer {paired.json()['token']}"

        snapshot = (await http.get("/mobile/v1/changes")).json()
        assert snapshot["has_more"] is False
        [product_id, *_] = [c["id"] for c in snapshot["changes"] if c["entity"] == "product"]
        [customer, *_] = [c["record"] for c in snapshot["changes"] if c["entity"] == "customer"]
        # In Xero: a tax rate renamed, a customer archived; the mirror brings both.
        control = sandbox.control()
        renamed = control.post(f"/organisations/{tenant_id}/tax-rates/OUTPUT2", json={"Name": "GST on Sales"})
        assert renamed.status_code == 200, renamed.text
        archived = control.post(f"/organisations/{tenant_id}/contacts/{customer['xero_id']}/archive")
        assert archived.status_code == 200, archived.text
        run = await sync_and_wait(admin)
        assert run["status"] == "succeeded", run["errors"]
        pulled = await http.get("/mobile/v1/changes", params={"cursor": snapshot["cursor"]})
        messages["pull_response"] = pulled.json()

        messages["push_request"] = push_request(product_id, "300.00")
        pushed = await http.post("/mobile/v1/mutations", json=messages["push_request"])
        assert pushed.status_code == 200, pushed.text
        messages["push_response"] = pushed.json()
        await settle(admin)
        status = await http.get("/mobile/v1/uploads/m-0002-7f3e")
        assert status.status_code == 200, status.text
        messages["upload_status"] = status.json()

        latest = (await http.get("/mobile/v1/changes", params={"cursor": pulled.json()["cursor"]})).json()
        resync = await http.get("/mobile/v1/changes", params={"cursor": latest["cursor"] + 1000})
        assert resync.status_code == 409, resync.text
        messages["error_resync_required"] = resync.json()

        malformed = push_request(product_id, "100.00")
        malformed["mutations"] = [{**malformed["mutations"][2]}]
        malformed["mutations"][0]["payment"] = {**malformed["mutations"][0]["payment"], "amount": 100.0}
        invalid = await http.post("/mobile/v1/mutations", json=malformed)
        assert invalid.status_code == 400, invalid.text
        messages["error_invalid_input"] = invalid.json()
    return messages


def replace_in_doc(old: Any, new: Any) -> None:
    """The doc's JSON block showing ``old`` now shows ``new``."""
    doc = PROTOCOL_DOC.read_text()
    for block in re.findall(r"```json\n(.*?)```", doc, re.S):
        if json.loads(block) == old:
            doc = doc.replace(f"```json\n{block}```", f"```json\n{json.dumps(new, indent=2)}\n```", 1)
            PROTOCOL_DOC.write_text(doc)
            return


@pytest.fixture
async def tenant_id(xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient) -> str:
    """A connected, mirrored organisation, seeded the same in every run."""
    org = xero_sandbox.organisation(seed=20261120, contacts=2, items=2)
    await connect(admin_client)
    run = await sync_and_wait(admin_client)
    assert run["status"] == "succeeded", run["errors"]
    settings = await admin_client.put("/admin/api/settings", json={"bank_account_code": BANK})
    assert settings.status_code == 200, settings.text
    return org.tenant_id


async def test_every_golden_message_is_what_a_real_server_sends_for_the_documented_day(
    admin_client: httpx.AsyncClient, xero_sandbox: RunningSandbox, tenant_id: str
) -> None:
    normalise = Normaliser()
    played = {
        name: normalise(message)
        for name, message in (await play_the_documented_day(admin_client, xero_sandbox, tenant_id)).items()
    }

    if REGENERATE:
        for name, message in played.items():
            path = GOLDEN / f"{name}.json"
            replace_in_doc(json.loads(path.read_text()) if path.exists() else None, message)
            path.write_text(json.dumps(message, indent=2) + "\n")
    golden = {path.stem: json.loads(path.read_text()) for path in sorted(GOLDEN.glob("*.json"))}
    assert golden == played
