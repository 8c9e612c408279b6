"""The devices of the convergence test: reference phones (native protocol) and WatermelonDB apps (Node).

Both kinds answer the same questions the model asks (what does this device show for a record, make
this offline change, sync) so the model picks actions without caring which protocol a device speaks.
A device's *view* is what its user sees: the server's records plus its own changes not yet synced.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import Address, Customer, Invoice, Payment
from sync_protocol.messages import (
    AddressDraft,
    CreatePayment,
    CustomerBase,
    CustomerDraft,
    DeletePayment,
    PaymentDraft,
    UpsertCustomer,
)
from sync_protocol.money import money_text
from sync_protocol.totals import invoice_totals, line_amount, line_tax
from sync_protocol.version import PROTOCOL_HEADER, PROTOCOL_VERSION

NODE_APP = Path(__file__).resolve().parents[1] / "watermelondb" / "node"
PROTOCOL = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
# Customer fields both sides edit: the feed's name -> the WatermelonDB column.
CUSTOMER_FIELDS = ("name", "email", "phone", "first_name", "last_name")
SALES = "200"
TAX_TYPE = "OUTPUT2"
TAX_RATE = Decimal("15")


class DriverError(Exception):
    """The Node driver answered a command with an error."""


@dataclass(frozen=True)
class LineSpec:
    quantity: str
    unit_amount: str
    description: str


def drafted_lines(lines: list[LineSpec]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Line columns and invoice totals, computed the way the server checks them (Exclusive, 15%)."""
    rows: list[dict[str, Any]] = []
    amounts: list[Decimal] = []
    taxes: list[Decimal] = []
    for position, spec in enumerate(lines):
        amount = line_amount(Decimal(spec.quantity), Decimal(spec.unit_amount), None)
        tax = line_tax(amount, TAX_RATE, "Exclusive")
        amounts.append(amount)
        taxes.append(tax)
        rows.append(
            {
                "position": position,
                "description": spec.description,
                "product_id": None,
                "quantity": spec.quantity,
                "unit_amount": spec.unit_amount,
                "discount_rate": None,
                "account_code": SALES,
                "tax_type": TAX_TYPE,
                "line_amount": money_text(amount),
                "tax_amount": money_text(tax),
            }
        )
    totals = invoice_totals(amounts, taxes, "Exclusive")
    return rows, {
        "sub_total": money_text(totals.sub_total),
        "total_tax": money_text(totals.total_tax),
        "total": money_text(totals.total),
    }


class LosingTransport(httpx.AsyncBaseTransport):
    """Loopback HTTP that, when armed, loses the answer to the next push after the server handled it."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lose_next_push = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.lose_next_push and request.url.path.endswith("/mobile/v1/mutations"):
            self.lose_next_push = False
            await response.aread()
            await response.aclose()
            raise httpx.ReadError("connection lost after the server answered", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class NativeDevice:
    """A reference phone. Its own unsynced changes are kept as an overlay over the server's records."""

    name: str
    device_id: str
    phone: Phone
    transport: LosingTransport
    overlay: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    deleted: set[tuple[str, str]] = field(default_factory=set)
    kind: str = "native"

    async def sync(self, lose_answer: bool = False) -> dict[str, Any]:
        self.transport.lose_next_push = lose_answer
        results = await self.phone.upload()
        await self.phone.refresh()
        self.overlay.clear()
        self.deleted.clear()
        rejected = [r for r in results if r.status == "rejected"]
        return {"pushed": len(results), "rejected": [f"{r.record_id}:{r.code}" for r in rejected]}

    def _server(self, entity: str) -> dict[str, dict[str, Any]]:
        return {
            record_id: json.loads(payload)
            for (_, record_id), payload in self.phone.store.records(entity).items()
        }

    def view(self, entity: str) -> dict[str, dict[str, Any]]:
        records = self._server(entity)
        for (kind, record_id), values in self.overlay.items():
            if kind == entity:
                records[record_id] = {**records.get(record_id, {}), **values}
        for kind, record_id in self.deleted:
            if kind == entity:
                records.pop(record_id, None)
        return records

    def create_customer(self, customer_id: str, values: dict[str, str]) -> None:
        self.phone.queue(UpsertCustomer(mutation_id=str(uuid.uuid4()), customer=_draft(customer_id, values)))
        self.overlay[("customer", customer_id)] = {"id": customer_id, **values}

    def edit_customer(self, customer_id: str, changes: dict[str, str]) -> None:
        # As the reference phone does: the whole customer with the change applied, the customer as this
        # phone showed it before (``base``) and the fields the user changed (docs/protocol.md).
        current = self.view("customer")[customer_id]
        merged = {**current, **changes}
        before = _draft(customer_id, current)
        address = msgspec.convert(current["address"], Address) if current.get("address") else None
        base = CustomerBase(**{**msgspec.structs.asdict(before), "address": address})
        self.phone.queue(
            UpsertCustomer(
                mutation_id=str(uuid.uuid4()),
                customer=_draft(customer_id, merged),
                base=base,
                changed=sorted(changes),  # type: ignore[arg-type]
            )
        )
        self.overlay[("customer", customer_id)] = merged

    def create_invoice(
        self, invoice_id: str, customer_id: str, reference: str, lines: list[LineSpec], edit: bool = False
    ) -> None:
        self.phone.create_invoice(
            customer_id,
            [
                Line(s.quantity, s.unit_amount, s.description, tax_type=TAX_TYPE, account_code=SALES)
                for s in lines
            ],
            invoice_id=invoice_id,
            reference=reference,
        )
        _, totals = drafted_lines(lines)
        previous = self.view("invoice").get(invoice_id, {})
        self.overlay[("invoice", invoice_id)] = {
            "status": "AUTHORISED",
            "amount_due": totals["total"],
            **previous,
            "id": invoice_id,
            "customer_id": customer_id,
            "reference": reference,
            **totals,
            **({} if not edit else {"amount_due": previous.get("amount_due", totals["total"])}),
        }

    def pay(self, payment_id: str, invoice_id: str, amount: str) -> None:
        draft = PaymentDraft(id=payment_id, invoice_id=invoice_id, date=dt.date.today(), amount=amount)
        self.phone.queue(CreatePayment(mutation_id=str(uuid.uuid4()), payment=draft))
        self.overlay[("payment", payment_id)] = {"id": payment_id, "invoice_id": invoice_id, "amount": amount}

    def void(self, invoice_id: str) -> None:
        self.phone.void_invoice(invoice_id)
        self.overlay[("invoice", invoice_id)] = {**self.view("invoice")[invoice_id], "status": "VOIDED"}

    def delete_payment(self, payment_id: str) -> None:
        self.phone.queue(DeletePayment(mutation_id=str(uuid.uuid4()), payment_id=payment_id))
        self.deleted.add(("payment", payment_id))

    def delete_customer(self, customer_id: str) -> None:
        raise NotImplementedError("the native protocol has no customer deletion")

    def refusals(self) -> dict[str, str]:
        """Record id -> the reason this device holds for a refused upload of it (rejected at the door)."""
        return {
            r.record_id: f"{r.code}: {r.message}"
            for r in self.phone.store.results().values()
            if r.status == "rejected" and r.message
        }

    def records(self) -> dict[tuple[str, str], Any]:
        return {key: json.loads(payload) for key, payload in self.phone.store.records().items()}

    async def close(self) -> None:
        await self.phone.close()
        await self.transport.aclose()


def _today() -> str:
    return dt.date.today().isoformat()


def _draft(customer_id: str, values: dict[str, Any]) -> CustomerDraft:
    address = values.get("address")
    return CustomerDraft(
        id=customer_id,
        name=values["name"],
        first_name=values.get("first_name", ""),
        last_name=values.get("last_name", ""),
        email=values.get("email", ""),
        phone=values.get("phone", ""),
        account_number=values.get("account_number", ""),
        tax_number=values.get("tax_number", ""),
        address=msgspec.convert(address, AddressDraft) if address else None,
    )


class NodeDriver:
    """The long-running Node process (tests/watermelondb/node/driver.js): JSON commands on stdin."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._ids = 0
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls) -> NodeDriver:
        executable = shutil.which("node")
        if executable is None:
            pytest.skip("Node.js 20 is not installed (CI installs it and runs `npm ci`: .ci/run)")
        # Always through npm_ci: it waits for another worker's install in progress, then finds it done.
        from tests.watermelondb.test_watermelondb_app import npm_ci

        await asyncio.to_thread(npm_ci)
        process = await asyncio.create_subprocess_exec(
            executable,
            "driver.js",
            cwd=NODE_APP,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=os.environ.copy(),
            limit=64 * 1024 * 1024,
        )
        return cls(process)

    async def call(self, cmd: str, **args: Any) -> Any:
        async with self._lock:
            self._ids += 1
            request = {"id": self._ids, "cmd": cmd, **args}
            assert self.process.stdin is not None
            assert self.process.stdout is not None
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            await self.process.stdin.drain()
            line = await asyncio.wait_for(self.process.stdout.readline(), 120)
            if not line:
                stderr = await self.process.stderr.read() if self.process.stderr else b""
                raise DriverError(f"the Node driver exited: {stderr.decode()[-2000:]}")
            answer = json.loads(line)
            if not answer["ok"]:
                raise DriverError(f"{cmd}: {answer['error']}")
            return answer["result"]

    async def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


_WM_TABLE = {"customer": "customers", "invoice": "invoices", "payment": "payments"}
_SERVER_COLUMNS = ("_status", "_changed")


@dataclass
class WatermelonDevice:
    """A WatermelonDB app in the Node driver. Its rows are its view: WatermelonDB applies edits locally."""

    name: str
    device_id: str
    driver: NodeDriver
    kind: str = "watermelondb"
    _rows: dict[str, Any] | None = None

    async def sync(self, lose_answer: bool = False) -> dict[str, Any]:
        self._rows = None
        result: dict[str, Any] = await self.driver.call("sync", device=self.name, lose_push=lose_answer)
        return result

    async def rows(self) -> dict[str, Any]:
        if self._rows is None:
            self._rows = await self.driver.call("rows", device=self.name)
        return self._rows

    async def load(self) -> None:
        await self.rows()

    def _tables(self) -> dict[str, list[dict[str, Any]]]:
        assert self._rows is not None, "load() first"
        tables: dict[str, list[dict[str, Any]]] = self._rows["tables"]
        return tables

    def view(self, entity: str) -> dict[str, dict[str, Any]]:
        rows = self._tables()[_WM_TABLE[entity]]
        return {row["id"]: row for row in rows}

    def lines_of(self, invoice_id: str) -> list[dict[str, Any]]:
        return sorted(
            (row for row in self._tables()["invoice_lines"] if row["invoice_id"] == invoice_id),
            key=lambda row: row["position"],
        )

    async def write(self, ops: list[dict[str, Any]]) -> None:
        self._rows = None
        await self.driver.call("write", device=self.name, ops=ops)

    async def create_customer(self, customer_id: str, values: dict[str, str]) -> None:
        await self.write([{"op": "create", "table": "customers", "id": customer_id, "fields": values}])

    async def edit_customer(self, customer_id: str, changes: dict[str, str]) -> None:
        await self.write([{"op": "update", "table": "customers", "id": customer_id, "fields": changes}])

    async def create_invoice(
        self, invoice_id: str, customer_id: str, reference: str, lines: list[LineSpec], edit: bool = False
    ) -> None:
        line_rows, totals = drafted_lines(lines)
        header = {
            "customer_id": customer_id,
            "reference": reference,
            "line_amount_type": "Exclusive",
            **totals,
        }
        if not edit:
            ops: list[dict[str, Any]] = [
                {
                    "op": "create",
                    "table": "invoices",
                    "id": invoice_id,
                    "fields": {**header, "date": _today()},
                }
            ]
            ops += [
                {
                    "op": "create",
                    "table": "invoice_lines",
                    "id": str(uuid.uuid4()),
                    "fields": {**row, "invoice_id": invoice_id},
                }
                for row in line_rows
            ]
        else:
            ops = [{"op": "update", "table": "invoices", "id": invoice_id, "fields": header}]
            existing = self.lines_of(invoice_id)
            for position, row in enumerate(line_rows):
                if position < len(existing):
                    ops.append(
                        {
                            "op": "update",
                            "table": "invoice_lines",
                            "id": existing[position]["id"],
                            "fields": row,
                        }
                    )
                else:
                    ops.append(
                        {
                            "op": "create",
                            "table": "invoice_lines",
                            "id": str(uuid.uuid4()),
                            "fields": {**row, "invoice_id": invoice_id},
                        }
                    )
            for extra in existing[len(line_rows) :]:
                ops.append({"op": "delete", "table": "invoice_lines", "id": extra["id"]})
        await self.write(ops)

    async def pay(self, payment_id: str, invoice_id: str, amount: str) -> None:
        fields = {"invoice_id": invoice_id, "date": _today(), "amount": amount, "account_code": None}
        await self.write([{"op": "create", "table": "payments", "id": payment_id, "fields": fields}])

    async def void(self, invoice_id: str) -> None:
        ops = [
            {"op": "delete", "table": "invoice_lines", "id": line["id"]} for line in self.lines_of(invoice_id)
        ]
        ops.append({"op": "delete", "table": "invoices", "id": invoice_id})
        await self.write(ops)

    async def delete_payment(self, payment_id: str) -> None:
        await self.write([{"op": "delete", "table": "payments", "id": payment_id}])

    async def delete_customer(self, customer_id: str) -> None:
        await self.write([{"op": "delete", "table": "customers", "id": customer_id}])

    def refusals(self) -> dict[str, str]:
        """Record id -> the reason this device shows for a refused upload of it (rejected or failed)."""
        found: dict[str, str] = {}
        for table in ("customers", "invoices", "payments"):
            for row in self._tables()[table]:
                if row.get("sync_state") in ("rejected", "failed") and row.get("sync_message"):
                    found[row["id"]] = (
                        f"{row['sync_state']} {row.get('sync_code', '')}: {row['sync_message']}"
                    )
        return found

    def comparable(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Rows as the server gave them (WatermelonDB's own bookkeeping columns left out)."""
        return {
            (table, row["id"]): {k: v for k, v in row.items() if k not in _SERVER_COLUMNS}
            for table, rows in self._tables().items()
            for row in rows
        }

    def unsynced(self) -> dict[tuple[str, str], str]:
        """Rows WatermelonDB still holds as local changes (created/updated), and local deletions."""
        assert self._rows is not None
        found = {
            (table, row["id"]): row["_status"]
            for table, rows in self._tables().items()
            for row in rows
            if row["_status"] != "synced"
        }
        for table, ids in self._rows["deleted"].items():
            for record_id in ids:
                found[(table, record_id)] = "deleted"
        return found

    async def close(self) -> None:
        await self.driver.call("close", device=self.name)


Device = NativeDevice | WatermelonDevice


def decode_customer(payload: dict[str, Any]) -> Customer:
    return msgspec.convert(payload, Customer)


def decode_invoice(payload: dict[str, Any]) -> Invoice:
    return msgspec.convert(payload, Invoice)


def decode_payment(payload: dict[str, Any]) -> Payment:
    return msgspec.convert(payload, Payment)
