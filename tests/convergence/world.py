"""One seed's world: a fresh organisation on the running servers, its devices, and the model.

``World.step()`` makes one random action chosen by ``random.Random(seed)``; every action is logged, so a
failure prints the seed and the log that reproduce it. The model remembers what users did (which field
each edit set, from which value it started, what was created offline) for the checks in ``checks.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from reference_client import Phone
from server.db.database import Database
from server.services.admins import AdminService
from server.settings import Settings
from tests.convergence.devices import (
    CUSTOMER_FIELDS,
    PROTOCOL,
    Device,
    LineSpec,
    LosingTransport,
    NativeDevice,
    NodeDriver,
    WatermelonDevice,
)
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import wait_for_run

ROOT = Path(__file__).resolve().parents[2]
BANK, REVENUE = "091", "260"
# Xero's contact fields for the customer fields both sides edit.
XERO_FIELD = {
    "name": "Name",
    "email": "EmailAddress",
    "phone": "Phones",
    "first_name": "FirstName",
    "last_name": "LastName",
}


@dataclass
class Edit:
    """One user's change of one customer field: ``seen`` are the edits whose value it started from."""

    n: int
    actor: str
    record_id: str
    field: str
    value: str
    seen: frozenset[int]
    step: int
    was: str = ""  # the value the user saw before this change


@dataclass
class Create:
    actor: str
    entity: str
    record_id: str
    step: int


def xero_value(contact: dict[str, Any], name: str) -> str:
    """A customer field as the mirror reads it from a Xero contact."""
    if name == "phone":
        for kind in ("DEFAULT", "MOBILE"):
            for phone in contact.get("Phones") or []:
                if phone.get("PhoneType") == kind and phone.get("PhoneNumber"):
                    parts = (
                        phone.get("PhoneCountryCode"),
                        phone.get("PhoneAreaCode"),
                        phone.get("PhoneNumber"),
                    )
                    return " ".join(p for p in parts if p)
        return ""
    return str(contact.get(XERO_FIELD[name]) or "")


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


class Worker:
    """The forwarding worker, a process of its own (``python -m server forward``) so it can be killed."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.log_path = log_path
        values = {
            "DATABASE_URL": settings.database_url,
            "SECRET_KEY": settings.secret_key,
            "PORT": str(settings.port),
            "PUBLIC_URL": settings.public_url,
            "XERO_CLIENT_ID": settings.xero_client_id,
            "XERO_CLIENT_SECRET": settings.xero_client_secret,
            "XERO_REDIRECT_URL": settings.xero_redirect_url,
            "XERO_LOGIN_URL": settings.xero_login_url,
            "XERO_IDENTITY_URL": settings.xero_identity_url,
            "XERO_API_URL": settings.xero_api_url,
            "FORWARDING_WORKERS": "1",
            "FORWARD_CLAIM_SECONDS": "2",
            "FORWARD_RETRY_SECONDS": "0.1",
            "FORWARD_POLL_SECONDS": "0.05",
            "LOG_LEVEL": "ERROR",
        }
        self.environment = {**os.environ, **{f"LEDGERSYNC_{k}": v for k, v in values.items()}}
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def ensure_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            with self.log_path.open("ab") as log:  # the workers' errors, for whoever reads a failure
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "server", "forward"],
                    cwd=ROOT,
                    env=self.environment,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
            self.kills += 1
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@dataclass
class Servers:
    """What every seed shares: the running ledgersync and sandbox, the worker, the Node driver."""

    base_url: str
    settings: Settings
    sandbox: RunningSandbox
    worker: Worker
    driver: NodeDriver | None


@dataclass
class World:
    seed: int
    servers: Servers
    admin: httpx.AsyncClient
    organisation_id: uuid.UUID
    tenant_id: str
    xero: httpx.Client
    control: httpx.Client
    rng: random.Random
    devices: list[Device] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    creates: list[Create] = field(default_factory=list)
    removed_by: dict[str, str] = field(default_factory=dict)  # record id -> device that voided/deleted it
    # (device, customer id, step) of each customer deletion an app pushed (the server refuses them).
    customer_deletions: list[tuple[str, str, int]] = field(default_factory=list)
    user_payments: set[str] = field(default_factory=set)  # Xero PaymentIDs a Xero user made
    archived: set[str] = field(default_factory=set)  # Xero ContactIDs a Xero user archived
    action_errors: list[str] = field(default_factory=list)
    failed_pulls: list[str] = field(default_factory=list)
    drain_failures: list[str] = field(default_factory=list)
    step_no: int = 0
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- set-up ------------------------------------------------------------------------------------

    @classmethod
    async def create(cls, seed: int, servers: Servers, native: int, watermelon: int) -> World:
        rng = random.Random(seed)
        email, password = f"owner-{seed}-{uuid.uuid4().hex[:6]}@example.com", "correct horse battery"
        database = Database(servers.settings.database_url)
        try:
            await AdminService(database).create_admin(email, password, f"Convergence {seed}")
        finally:
            await database.close()
        admin = httpx.AsyncClient(base_url=servers.base_url, timeout=60)
        session = await admin.post("/admin/api/session", json={"email": email, "password": password})
        session.raise_for_status()
        admin.headers["Authorization"] = f"Bearer {session.json()['token']}"
        organisation_id = uuid.UUID(
            session.json().get("organisation_id")
            or (await admin.get("/admin/api/session")).json()["organisation_id"]
        )

        control = servers.sandbox.control()
        created = control.post(
            "/organisations", json={"name": f"Convergence {seed}", "seed": seed, "contacts": 4, "items": 3}
        )
        assert created.status_code == 201, created.text
        tenant_id = created.json()["tenantId"]
        await _connect(admin, tenant_id)
        world = cls(
            seed=seed,
            servers=servers,
            admin=admin,
            organisation_id=organisation_id,
            tenant_id=tenant_id,
            xero=servers.sandbox.api(tenant_id, validate=False),
            control=control,
            rng=rng,
        )
        await world.mirror_pull()
        response = await admin.put(
            "/admin/api/settings", json={"bank_account_code": BANK, "revenue_account_code": REVENUE}
        )
        assert response.status_code == 200, response.text
        for n in range(native):
            world.devices.append(await world.pair_native(f"native{n + 1}"))
        if servers.driver is not None:
            for n in range(watermelon):
                world.devices.append(await world.pair_watermelon(f"wm{n + 1}"))
        for device in world.devices:
            await device.sync()
        return world

    async def _pairing(self, staff: str) -> str:
        issued = await self.admin.post("/admin/api/devices/pairing-codes", json={"staff_name": staff})
        assert issued.status_code == 201, issued.text
        code: str = issued.json()["code"]
        return code

    async def pair_native(self, name: str) -> NativeDevice:
        transport = LosingTransport()
        phone = Phone(self.servers.base_url, transport=transport)
        paired = await phone.pair(await self._pairing(name), device_name=name)
        return NativeDevice(name=name, device_id=paired.device_id, phone=phone, transport=transport)

    async def pair_watermelon(self, name: str) -> WatermelonDevice:
        assert self.servers.driver is not None
        async with httpx.AsyncClient(base_url=self.servers.base_url, headers=PROTOCOL, timeout=30) as http:
            paired = await http.post(
                "/mobile/v1/pair", json={"code": await self._pairing(name), "device_name": name}
            )
        assert paired.status_code == 201, paired.text
        body = paired.json()
        unique = f"s{self.seed}-{name}-{uuid.uuid4().hex[:6]}"
        await self.servers.driver.call("open", device=unique, url=self.servers.base_url, token=body["token"])
        return WatermelonDevice(name=unique, device_id=body["device_id"], driver=self.servers.driver)

    async def close(self) -> None:
        for device in self.devices:
            await device.close()
        await self.admin.aclose()

    # --- Xero, read through its API and changed through the sandbox's control API -----------------

    def xero_get(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in itertools.count(1):
            query = {**params, "page": page, "pageSize": 1000}
            response = self.xero.get(path, params=query)
            if response.status_code == 401:  # the sandbox's clock runs fast: tokens expire in seconds
                self.xero = self.servers.sandbox.api(self.tenant_id, validate=False)
                response = self.xero.get(path, params=query)
            assert response.status_code == 200, response.text
            batch: list[dict[str, Any]] = response.json()[key]
            found += batch
            if len(batch) < 1000:
                return found
        return found

    def xero_contacts(self) -> dict[str, dict[str, Any]]:
        return {
            c["ContactID"].lower(): c for c in self.xero_get("/Contacts", "Contacts", includeArchived="true")
        }

    def xero_invoices(self) -> dict[str, dict[str, Any]]:
        return {i["InvoiceID"].lower(): i for i in self.xero_get("/Invoices", "Invoices")}

    def xero_payments(self) -> dict[str, dict[str, Any]]:
        return {p["PaymentID"].lower(): p for p in self.xero_get("/Payments", "Payments")}

    async def mirror_pull(self) -> dict[str, Any]:
        response = await self.admin.post("/admin/api/sync")
        assert response.status_code == 202, response.text
        run = await wait_for_run(self.admin, response.json()["run_id"])
        if run["status"] != "succeeded":
            self.failed_pulls.append(f"step {self.step_no}: {run['status']}: {str(run.get('errors'))[:400]}")
        return run

    # --- the model ----------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.log.append(f"[{self.step_no:03d}] {text}")

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def fresh_value(self, name: str) -> str:
        n = next(self._counter)
        if name == "email":
            return f"e{n}.s{self.seed}@convergence.example"
        if name == "phone":
            return f"021 {self.seed:04d} {n:04d}"
        if name == "name":
            return f"Customer s{self.seed} v{n}"
        return f"{name.split('_')[0].title()}{n}"

    def origin(self, actor: str, record_id: str, name: str, base: str) -> frozenset[int]:
        """The edits a change of ``name`` starting from the value ``base`` has seen."""
        if base == "":
            # A cleared field says nothing about which clear it came from, except one's own.
            for edit in reversed(self.edits):
                if edit.record_id == record_id and edit.field == name and edit.actor == actor:
                    return edit.seen | {edit.n} if edit.value == "" else frozenset()
            return frozenset()
        for edit in self.edits:
            if edit.record_id == record_id and edit.field == name and edit.value == base:
                return edit.seen | {edit.n}
        return frozenset()  # the organisation's initial value

    def remember_edit(self, actor: str, record_id: str, name: str, value: str, base: str) -> None:
        if value == base:
            # Setting a field to the value the actor already held changes nothing: the phone sends
            # no change of it (its edit's ``changed`` leaves it out), and no merge can see one.
            return
        seen = self.origin(actor, record_id, name, base)
        self.edits.append(Edit(next(self._counter), actor, record_id, name, value, seen, self.step_no, base))

    # --- actions ------------------------------------------------------------------------------------

    async def step(self) -> None:
        self.step_no += 1
        actions: list[tuple[int, Callable[[], Awaitable[None]]]] = [
            (14, self.device_sync),
            (4, self.device_sync_losing_answer),
            (6, self.device_create_customer),
            (12, self.device_edit_customer),
            (8, self.device_create_invoice),
            (4, self.device_edit_invoice),
            (7, self.device_pay),
            (3, self.device_void),
            (2, self.device_delete_payment),
            (1, self.device_delete_customer),
            (8, self.xero_edit_contact),
            (3, self.xero_pay),
            (2, self.xero_void),
            (1, self.xero_archive),
            (5, self.server_mirror_pull),
            (2, self.server_drop_answer),
            (2, self.server_kill_worker),
            (3, self.pause),
        ]
        weights = [w for w, _ in actions]
        [action] = self.rng.choices([a for _, a in actions], weights=weights)
        try:
            before = len(self.log)
            await action()
            if len(self.log) == before:
                self.say(f"{action.__name__}: nothing to do")
        except Exception as exc:  # an action that fails is itself a finding: kept, reported by a check
            self.say(f"  !! {action.__name__} raised {exc!r}")
            self.action_errors.append(f"step {self.step_no} {action.__name__}: {exc!r}"[:600])

    def pick_device(self) -> Device:
        return self.rng.choice(self.devices)

    async def view(self, device: Device, entity: str) -> dict[str, dict[str, Any]]:
        if isinstance(device, WatermelonDevice):
            await device.load()
        return device.view(entity)

    async def device_sync(self, lose: bool = False) -> None:
        device = self.pick_device()
        result = await device.sync(lose_answer=lose)
        self.say(f"{device.name} syncs{' (push answer lost)' if lose else ''}: {result}")

    async def device_sync_losing_answer(self) -> None:
        await self.device_sync(lose=True)

    async def device_create_customer(self) -> None:
        device = self.pick_device()
        customer_id = self.new_id()
        values = {"name": self.fresh_value("name")}
        if self.rng.random() < 0.5:
            values["email"] = self.fresh_value("email")
        if isinstance(device, WatermelonDevice):
            await device.create_customer(customer_id, values)
        else:
            device.create_customer(customer_id, values)
        self.creates.append(Create(device.name, "customer", customer_id, self.step_no))
        self.say(f"{device.name} creates customer {customer_id} {values}")

    async def device_edit_customer(self) -> None:
        device = self.pick_device()
        customers = {k: v for k, v in (await self.view(device, "customer")).items() if v.get("name")}
        if not customers:
            return
        record_id = self.rng.choice(sorted(customers))
        name = self.rng.choice(CUSTOMER_FIELDS)
        clear = name != "name" and self.rng.random() < 0.3
        value = "" if clear else self.fresh_value(name)
        base = str(customers[record_id].get(name) or "")
        if isinstance(device, WatermelonDevice):
            await device.edit_customer(record_id, {name: value})
        else:
            device.edit_customer(record_id, {name: value})
        self.remember_edit(device.name, record_id, name, value, base)
        self.say(f"{device.name} sets customer {record_id} {name}={value!r} (was {base!r})")

    def _lines(self) -> list[LineSpec]:
        return [
            LineSpec(
                str(self.rng.randint(1, 3)),
                f"{self.rng.randint(5, 90)}.{self.rng.choice(['00', '50', '95'])}",
                f"Job {n}",
            )
            for n in range(self.rng.randint(1, 2))
        ]

    async def device_create_invoice(self) -> None:
        device = self.pick_device()
        customers = sorted(
            k
            for k, v in (await self.view(device, "customer")).items()
            if v.get("status", "ACTIVE") == "ACTIVE"
        )
        if not customers:
            return
        invoice_id = self.new_id()
        customer_id = self.rng.choice(customers)
        lines = self._lines()
        reference = f"Ref {next(self._counter)}"
        await _maybe(device.create_invoice(invoice_id, customer_id, reference, lines))
        self.creates.append(Create(device.name, "invoice", invoice_id, self.step_no))
        self.say(f"{device.name} creates invoice {invoice_id} for {customer_id}: {lines}")

    def _open_invoices(self, invoices: dict[str, dict[str, Any]]) -> list[str]:
        return sorted(
            record_id
            for record_id, invoice in invoices.items()
            if (invoice.get("status") or "AUTHORISED") == "AUTHORISED" and invoice.get("customer_id")
        )

    async def device_edit_invoice(self) -> None:
        device = self.pick_device()
        invoices = await self.view(device, "invoice")
        candidates = self._open_invoices(invoices)
        if not candidates:
            return
        invoice_id = self.rng.choice(candidates)
        lines = self._lines()
        reference = f"Ref {next(self._counter)}"
        await _maybe(
            device.create_invoice(
                invoice_id, invoices[invoice_id]["customer_id"], reference, lines, edit=True
            )
        )
        self.say(f"{device.name} edits invoice {invoice_id}: {reference} {lines}")

    async def device_pay(self) -> None:
        device = self.pick_device()
        invoices = await self.view(device, "invoice")
        candidates = [
            i
            for i in self._open_invoices(invoices)
            if money(invoices[i].get("amount_due") or invoices[i].get("total") or 0) > 0
        ]
        if not candidates:
            return
        invoice_id = self.rng.choice(candidates)
        due = money(invoices[invoice_id].get("amount_due") or invoices[invoice_id]["total"])
        amount = due if self.rng.random() < 0.4 else max(Decimal("1.00"), (due / 3).quantize(Decimal("0.01")))
        payment_id = self.new_id()
        await _maybe(device.pay(payment_id, invoice_id, f"{amount:.2f}"))
        self.creates.append(Create(device.name, "payment", payment_id, self.step_no))
        self.say(f"{device.name} pays {amount} on invoice {invoice_id} (payment {payment_id})")

    async def device_void(self) -> None:
        device = self.pick_device()
        candidates = self._open_invoices(await self.view(device, "invoice"))
        if not candidates:
            return
        invoice_id = self.rng.choice(candidates)
        await _maybe(device.void(invoice_id))
        self.removed_by[invoice_id] = device.name
        self.say(f"{device.name} voids invoice {invoice_id}")

    async def device_delete_payment(self) -> None:
        device = self.pick_device()
        payments = sorted(
            k
            for k, v in (await self.view(device, "payment")).items()
            if v.get("status", "AUTHORISED") == "AUTHORISED"
        )
        if not payments:
            return
        payment_id = self.rng.choice(payments)
        await _maybe(device.delete_payment(payment_id))
        self.removed_by[payment_id] = device.name
        self.say(f"{device.name} deletes payment {payment_id}")

    async def device_delete_customer(self) -> None:
        devices = [d for d in self.devices if isinstance(d, WatermelonDevice)]
        if not devices:
            return
        device = self.rng.choice(devices)
        customers = sorted(await self.view(device, "customer"))
        if not customers:
            return
        customer_id = self.rng.choice(customers)
        await device.delete_customer(customer_id)
        self.removed_by[customer_id] = device.name
        self.customer_deletions.append((device.name, customer_id, self.step_no))
        self.say(f"{device.name} deletes customer {customer_id}")

    def _active_contacts(self) -> dict[str, dict[str, Any]]:
        return {k: c for k, c in self.xero_contacts().items() if c["ContactStatus"] == "ACTIVE"}

    async def xero_edit_contact(self) -> None:
        contacts = self._active_contacts()
        if not contacts:
            return
        contact_id = self.rng.choice(sorted(contacts))
        name = self.rng.choice(CUSTOMER_FIELDS)
        clear = name != "name" and self.rng.random() < 0.3
        value = "" if clear else self.fresh_value(name)
        base = xero_value(contacts[contact_id], name)
        body: dict[str, Any] = {XERO_FIELD[name]: value}
        if name == "phone":
            body = {"Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": value}]}
        response = self.control.post(f"/organisations/{self.tenant_id}/contacts/{contact_id}", json=body)
        if response.status_code != 200:
            self.say(
                f"xero user could not edit contact {contact_id}: {response.status_code} {response.text[:200]}"
            )
            return
        record_id = await self.record_of_contact(contact_id)
        self.remember_edit("xero", record_id or f"xero:{contact_id}", name, value, base)
        self.say(f"xero user sets contact {contact_id} (record {record_id}) {name}={value!r} (was {base!r})")

    async def record_of_contact(self, contact_id: str) -> str | None:
        """ledgersync's id of a Xero contact, as the feed shows it (None: not mirrored yet)."""
        for device in self.devices:
            for record_id, customer in (await self.view(device, "customer")).items():
                if str(customer.get("xero_id") or "").lower() == contact_id:
                    return record_id
        contact = self.xero_contacts().get(contact_id, {})
        number = str(contact.get("ContactNumber") or "")
        return number or None

    def _payable_xero_invoices(self) -> list[dict[str, Any]]:
        return [
            i
            for i in self.xero_invoices().values()
            if i["Status"] == "AUTHORISED" and money(i["AmountDue"]) > 0
        ]

    async def xero_pay(self) -> None:
        invoices = self._payable_xero_invoices()
        if not invoices:
            return
        invoice = self.rng.choice(sorted(invoices, key=lambda i: i["InvoiceID"]))
        due = money(invoice["AmountDue"])
        amount = due if self.rng.random() < 0.5 else max(Decimal("1.00"), (due / 2).quantize(Decimal("0.01")))
        response = self.control.post(
            f"/organisations/{self.tenant_id}/invoices/{invoice['InvoiceID']}/payments",
            json={"amount": f"{amount:.2f}"},
        )
        if response.status_code == 201:
            self.user_payments.add(response.json()["PaymentID"].lower())
        self.say(f"xero user pays {amount} on invoice {invoice['InvoiceID']}: {response.status_code}")

    async def xero_void(self) -> None:
        invoices = [i for i in self._payable_xero_invoices() if money(i.get("AmountPaid") or 0) == 0]
        if not invoices:
            return
        invoice = self.rng.choice(sorted(invoices, key=lambda i: i["InvoiceID"]))
        response = self.control.post(f"/organisations/{self.tenant_id}/invoices/{invoice['InvoiceID']}/void")
        self.say(f"xero user voids invoice {invoice['InvoiceID']}: {response.status_code}")

    async def xero_archive(self) -> None:
        contacts = self._active_contacts()
        if len(contacts) <= 2:
            return
        contact_id = self.rng.choice(sorted(contacts))
        response = self.control.post(f"/organisations/{self.tenant_id}/contacts/{contact_id}/archive")
        if response.status_code == 200:
            self.archived.add(contact_id)
        self.say(f"xero user archives contact {contact_id}: {response.status_code}")

    async def server_mirror_pull(self) -> None:
        run = await self.mirror_pull()
        self.say(f"mirror pull: {run['status']}")

    async def server_drop_answer(self) -> None:
        route = self.rng.choice(["PUT /api.xro/2.0/*", "POST /api.xro/2.0/*"])
        response = self.control.post("/faults", json={"kind": "drop", "route": route, "count": 1})
        self.say(f"sandbox will drop the answer to the next {route}: {response.status_code}")

    async def server_kill_worker(self) -> None:
        self.servers.worker.kill()
        self.say("forwarding worker killed (SIGKILL)")
        await asyncio.sleep(self.rng.uniform(0.0, 0.3))
        self.servers.worker.ensure_running()

    async def pause(self) -> None:
        seconds = round(self.rng.uniform(0.1, 0.6), 2)
        await asyncio.sleep(seconds)
        self.say(f"pause {seconds}s")

    # --- the end: everyone syncs, forwarding drains ----------------------------------------------------

    async def outbox_counts(self) -> dict[str, int]:
        response = await self.admin.get("/admin/api/uploads", params={"limit": 1})
        counts: dict[str, int] = response.json()["counts"]
        return counts

    async def drain(self, within: float = 60) -> dict[str, int]:
        """Wait until nothing is due, in flight or retrying (waiting ones may stay: checks judge them)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            counts = await self.outbox_counts()
            if counts.get("due", 0) + counts.get("in_flight", 0) + counts.get("retrying", 0) == 0:
                return counts
            if asyncio.get_running_loop().time() > deadline:
                moving = [
                    f"{u['kind']} {u['entity']} {u['record_id']} {u['state']} attempts={u['attempts']} "
                    f"next={u['next_attempt_at']} error={u['last_error']!r}"
                    for u in await self.uploads()
                    if u["state"] in ("accepted", "forwarding", "retrying")
                ]
                raise AssertionError(f"forwarding did not drain within {within}s: {counts}: {moving}")
            await asyncio.sleep(0.1)

    async def sync_everyone(self) -> None:
        for device in self.devices:
            try:
                await device.sync()
            except Exception as exc:
                self.action_errors.append(f"final sync of {device.name}: {exc!r}"[:600])

    async def converge(self) -> None:
        """Faults off, worker up; three rounds of (everyone syncs, forwarding drains, mirror pull)."""
        self.step_no += 1
        self.say("-- the end: faults cleared, everyone syncs, forwarding drains, mirror pulls --")
        self.control.delete("/faults")
        self.servers.worker.ensure_running()
        for round_ in range(3):
            await self.sync_everyone()
            try:
                await self.drain(within=30 if not self.drain_failures else 5)
            except AssertionError as exc:
                self.drain_failures.append(f"round {round_ + 1}: {exc}")
            await self.mirror_pull()
        await self.sync_everyone()
        await self.sync_everyone()  # WatermelonDB learns of rejections on the sync after the push
        for device in self.devices:
            if isinstance(device, WatermelonDevice):
                await device.load()

    async def uploads(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for offset in itertools.count(0, 500):
            page = (
                await self.admin.get("/admin/api/uploads", params={"limit": 500, "offset": offset})
            ).json()
            found += page["uploads"]
            if len(page["uploads"]) < 500:
                return found
        return found

    async def conflicts(self) -> list[dict[str, Any]]:
        """Every edit conflict the admin is shown (``GET /admin/api/conflicts``)."""
        found: list[dict[str, Any]] = []
        for offset in itertools.count(0, 500):
            response = await self.admin.get("/admin/api/conflicts", params={"limit": 500, "offset": offset})
            assert response.status_code == 200, response.text
            found += response.json()["conflicts"]
            if len(response.json()["conflicts"]) < 500:
                return found
        return found


async def _maybe(result: Awaitable[None] | None) -> None:
    if result is not None:
        await result


async def _connect(admin: httpx.AsyncClient, tenant_id: str) -> None:
    """The admin connects Xero; with several organisations approved, they choose this seed's."""
    response = await admin.get("/admin/api/xero/connect", follow_redirects=True)
    assert response.status_code == 200, response.text
    body = response.json()
    if body.get("status") == "choose_tenant":
        chosen = await admin.post(
            "/admin/api/xero/tenant", json={"state": body["state"], "tenant_id": tenant_id}
        )
        assert chosen.status_code == 200, chosen.text
    else:
        assert body["tenant"]["tenant_id"].lower() == tenant_id.lower(), body
