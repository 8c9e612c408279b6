"""Forwarding tests: ledgersync connected to the consenting Xero sandbox, mirrored, with a phone.

async def test_x(forwarding: Forwarding, phone: Phone) -> None:
    ...queue records on the phone, upload...
    counts = await settle(forwarding.admin)           # until nothing is due or in flight
    invoice = forwarding.xero_invoice_for(record_id)   # what the sandbox holds
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from reference_client import Phone
from server.app import create_app
from server.http.serving import ServerThread
from server.settings import Settings
from tests.fixtures.devices import NewPhone
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import connect, fast, free_port, organisation_of, point_at, sync_and_wait
from xero_sandbox.store import LedgerEntry, Organisation, Record

# Bank and revenue accounts of the sandbox's seeded organisations (see xero_sandbox/seed.py).
BANK, OTHER_BANK = "090", "091"
SALES, OTHER_REVENUE = "200", "260"


@pytest.fixture
def settings(settings: Settings, xero_sandbox: RunningSandbox) -> Settings:
    return point_at(settings, xero_sandbox, free_port()).replace(
        forward_poll_seconds=0.05, forward_retry_seconds=0.2
    )


@pytest.fixture
def ledgersync(settings: Settings) -> Iterator[ServerThread]:
    with ServerThread(fast(create_app(settings)), port=settings.port) as server:
        yield server


@dataclass
class Forwarding:
    """A connected, mirrored organisation: its sandbox side and its admin's client."""

    admin: httpx.AsyncClient
    sandbox: RunningSandbox
    xero_org: Organisation

    def writes(self, path: str | None = None) -> list[LedgerEntry]:
        """The sandbox's accepted writes, in order (optionally only to ``path``, e.g. "/Invoices")."""
        entries = [e for e in self.sandbox.handle.state.ledger if e.tenant_id == self.xero_org.tenant_id]
        return [e for e in entries if path is None or e.path.lower().endswith(path.lower())]

    def xero_invoices_for(self, record_id: str) -> list[Record]:
        return [
            invoice
            for invoice in self.xero_org.invoices.values()
            if str(invoice.get("Url", "")).endswith(f"/admin/invoices/{record_id}")
        ]

    def xero_invoice_for(self, record_id: str) -> Record:
        [invoice] = self.xero_invoices_for(record_id)
        return invoice

    def xero_contacts_named(self, name: str) -> list[Record]:
        return [c for c in self.xero_org.contacts.values() if c["Name"] == name]

    def account_code(self, account_id: str) -> str:
        return str(self.xero_org.accounts[account_id]["Code"])

    async def set(self, **settings: Any) -> httpx.Response:
        response = await self.admin.put("/admin/api/settings", json=settings)
        assert response.status_code == 200, response.text
        return response


@pytest.fixture
async def forwarding(xero_sandbox: RunningSandbox, admin_client: httpx.AsyncClient) -> Forwarding:
    org = xero_sandbox.organisation(contacts=3, items=3)
    await connect(admin_client)
    run = await sync_and_wait(admin_client)
    assert run["status"] == "succeeded", run["errors"]
    assert await organisation_of(admin_client)
    setup = Forwarding(admin_client, xero_sandbox, org)
    await setup.set(bank_account_code=OTHER_BANK, revenue_account_code=OTHER_REVENUE)
    return setup


@pytest.fixture
async def phone(forwarding: Forwarding, new_phone: NewPhone) -> Phone:
    device = await new_phone()
    await device.refresh()
    return device


Predicate = Callable[[dict[str, int]], bool]


def nothing_moving(counts: dict[str, int]) -> bool:
    return counts["due"] + counts["in_flight"] + counts["retrying"] + counts["waiting"] == 0


async def settle(
    admin: httpx.AsyncClient, until: Predicate = nothing_moving, within: float = 60
) -> dict[str, int]:
    """Wait until the outbox's counts by state satisfy ``until`` (by default: nothing left to send)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        counts: dict[str, int] = (await admin.get("/admin/api/uploads", params={"limit": 1})).json()["counts"]
        if until(counts):
            return counts
        assert asyncio.get_running_loop().time() < deadline, f"outbox did not settle: {counts}"
        await asyncio.sleep(0.05)


def products_of(phone: Phone) -> list[str]:
    return sorted(record_id for (_, record_id) in phone.store.records("product"))
