"""``python -m reference_client``: the reference phone as a command, a smoke test of any deployment.

    python -m reference_client pair https://sync.example.com KQ7MX-P2DRT   # trade a pairing code
    python -m reference_client refresh                                      # pull until caught up
    python -m reference_client upload --example                             # a customer, invoice, payment
    python -m reference_client upload mutations.json                        # {"mutations": [...]}
    python -m reference_client status --wait 60                             # each upload's fate
    python -m reference_client watch                                        # refresh on every poke

The phone's SQLite file (``--db``, default ``$LEDGERSYNC_PHONE_DB`` or ``ledgersync-phone.sqlite``)
keeps the server URL, the device token, the cursor, the pulled records and the outbox, so each
command carries on from the last. Exit status: 0 on success, 1 when the server refused something
(a rejected mutation, a failed upload, an HTTP error), 2 for a usage error or a ``--wait`` that ran out.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import msgspec

from reference_client.phone import Line, Phone, UploadFailed
from reference_client.store import LocalStore
from sync_protocol.entities import Account, OrganisationSettings, TaxRate
from sync_protocol.messages import AnyMutation, MutationResult, PushRequest

DEFAULT_DB = "ledgersync-phone.sqlite"
# The states an upload leaves by itself; ``status --wait`` waits until none is in one.
MOVING_STATES = frozenset({"accepted", "waiting", "forwarding", "retrying"})

_mutation = msgspec.json.Decoder(AnyMutation)


class CommandError(Exception):
    """A problem the user can fix; printed without a traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reference_client", description="The ledgersync reference phone."
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("LEDGERSYNC_PHONE_DB", DEFAULT_DB),
        help=f"the phone's SQLite file (default: $LEDGERSYNC_PHONE_DB or {DEFAULT_DB})",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    pair = commands.add_parser("pair", help="pair with a server using a pairing code from its admin")
    pair.add_argument("url", help="the server's public URL, e.g. https://sync.example.com")
    pair.add_argument("code", help="the pairing code, e.g. KQ7MX-P2DRT")
    pair.add_argument("--name", default="reference phone", help="this device's name, shown to admins")
    commands.add_parser("refresh", help="pull every change since the last refresh")
    upload = commands.add_parser("upload", help="queue mutations and push the queue")
    source = upload.add_mutually_exclusive_group(required=True)
    source.add_argument("file", nargs="?", help='a JSON file: {"mutations": [...]} or one mutation')
    source.add_argument(
        "--example", action="store_true", help="a new customer, an invoice for them and a part payment"
    )
    status = commands.add_parser("status", help="where each uploaded mutation stands")
    status.add_argument(
        "--wait", type=float, metavar="SECONDS", help="until no upload is still on its way (at most SECONDS)"
    )
    status.add_argument("--json", action="store_true", help="one JSON object per line")
    watch = commands.add_parser(
        "watch", help="hold the server's poke stream and refresh each time the feed moves (Ctrl-C stops)"
    )
    watch.add_argument(
        "--refreshes", type=int, metavar="N", help="stop after N refreshes the server's pokes caused"
    )
    return parser


def _phone(store: LocalStore) -> Phone:
    if store.server_url is None or store.token is None:
        raise CommandError("this phone is not paired: run `pair URL CODE` first")
    return Phone(store.server_url, store)


async def _pair(store: LocalStore, url: str, code: str, name: str) -> None:
    async with Phone(url.rstrip("/"), store) as phone:
        paired = await phone.pair(code, name)
    print(f"paired as {paired.staff_name} (device {paired.device_id}) with {url}")


async def _refresh(store: LocalStore) -> None:
    async with _phone(store) as phone:
        report = await phone.refresh()
    counts: dict[str, int] = {}
    for entity, _ in store.records():
        counts[entity] = counts.get(entity, 0) + 1
    held = ", ".join(f"{n} {entity}" for entity, n in sorted(counts.items())) or "nothing"
    resynced = " (resynced from a snapshot)" if report.resynced else ""
    print(f"pulled {report.changes} changes in {report.pages} pages{resynced}; cursor {store.cursor}")
    print(f"this phone holds {held}")


def _mutations_of(path: Path) -> list[AnyMutation]:
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CommandError(f"{path}: {exc}") from exc
    try:
        if isinstance(body, dict) and "mutations" in body:
            return list(msgspec.convert(body, PushRequest).mutations)
        return [_mutation.decode(json.dumps(body))]
    except msgspec.ValidationError as exc:
        raise CommandError(f"{path}: {exc}") from exc


def _records_of(store: LocalStore, entity: str, cls: type[Any]) -> list[Any]:
    return [msgspec.json.decode(p, type=cls) for p in store.records(entity).values()]


def queue_example(phone: Phone) -> list[str]:
    """A customer, an invoice for them and a part payment, made of what the phone pulled (the
    organisation's default tax type, its revenue and bank accounts). Returns the record ids."""
    store = phone.store
    organisation = next(iter(_records_of(store, "organisation", OrganisationSettings)), None)
    rates = [
        r for r in _records_of(store, "tax_rate", TaxRate) if r.status == "ACTIVE" and r.can_apply_to_revenue
    ]
    accounts = [a for a in _records_of(store, "account", Account) if a.status == "ACTIVE"]
    if organisation is None:
        raise CommandError("the phone has no organisation record: refresh first", exit_code=1)
    tax_types = [r.tax_type for r in rates]
    tax_type = organisation.default_sales_tax_type
    if tax_type not in tax_types:
        tax_type = tax_types[0] if tax_types else None
    revenue = organisation.revenue_account_code or next(
        (a.code for a in accounts if a.account_class == "REVENUE"), None
    )
    bank = organisation.bank_account_code or next((a.code for a in accounts if a.type == "BANK"), None)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    customer_id = phone.create_customer(f"Reference Client Cafe {stamp}", email="accounts@example.com")
    invoice_id = phone.create_invoice(
        customer_id,
        [Line("2", "49.95", description="Tap washer kit", tax_type=tax_type, account_code=revenue)],
        line_amount_type="Exclusive" if tax_type else "NoTax",
        reference="reference client example",
    )
    made = [customer_id, invoice_id]
    if bank is not None and organisation.forward_payments:
        made.append(phone.create_payment(invoice_id, "10.00", bank))
    return made


def _print_result(result: MutationResult) -> None:
    line = f"{result.status:8} {result.entity:8} {result.record_id}  (mutation {result.mutation_id})"
    if result.status == "rejected":
        line += f"\n         {result.code}: {result.message}" + (f" [{result.field}]" if result.field else "")
    print(line)


async def _upload(store: LocalStore, file: str | None, example: bool) -> int:
    async with _phone(store) as phone:
        if example:
            await phone.refresh()
            queue_example(phone)
        else:
            assert file is not None
            for mutation in _mutations_of(Path(file)):
                phone.queue(mutation)
        try:
            results = await phone.upload()
        except UploadFailed as exc:
            raise CommandError(f"{exc}; the queue is kept, run `upload` again later", exit_code=1) from exc
    for result in results:
        _print_result(result)
    return 1 if any(r.status == "rejected" for r in results) else 0


async def _statuses(phone: Phone) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for mutation_id, status, result in phone.store.outbox():
        if result is None or status == "pending":
            found.append({"mutation_id": mutation_id, "status": "pending", "state": "not uploaded"})
            continue
        if result.status == "rejected":
            found.append(msgspec.to_builtins(result) | {"state": "rejected"})
            continue
        found.append(msgspec.to_builtins(await phone.upload_status(mutation_id)))
    return found


def _print_status(status: dict[str, Any]) -> None:
    line = f"{status['state']:12} {status.get('entity', ''):8} {status.get('record_id', '')}"
    if status.get("invoice_number"):
        line += f"  {status['invoice_number']}"
    if status.get("xero_id"):
        line += f"  xero {status['xero_id']}"
    line += f"  (mutation {status['mutation_id']})"
    if status.get("message"):
        code = f"{status['code']}: " if status.get("code") else ""
        line += f"\n             {code}{status['message']}"
    print(line)


async def _status(store: LocalStore, wait: float | None, as_json: bool) -> int:
    async with _phone(store) as phone:
        deadline = asyncio.get_running_loop().time() + (wait or 0)
        statuses = await _statuses(phone)
        while wait is not None and any(s["state"] in MOVING_STATES for s in statuses):
            if asyncio.get_running_loop().time() >= deadline:
                for status in statuses:
                    _print_status(status)
                raise CommandError(f"uploads still on their way after {wait:g}s")
            await asyncio.sleep(0.5)
            statuses = await _statuses(phone)
    for status in statuses:
        if as_json:
            print(json.dumps(status))
        else:
            _print_status(status)
    if not statuses and not as_json:
        print("nothing uploaded yet")
    return 1 if any(s["state"] in ("failed", "rejected") for s in statuses) else 0


async def _watch(store: LocalStore, refreshes: int | None) -> int:
    """Refresh now, then on every poke past the phone's cursor; print what each refresh brought."""
    async with _phone(store) as phone:
        report = await phone.refresh()
        print(f"watching; cursor {store.cursor} ({report.changes} changes pulled first)", flush=True)
        done = 0
        async for version in phone.pokes():
            if version <= store.cursor:
                continue
            report = await phone.refresh()
            stamp = dt.datetime.now().strftime("%H:%M:%S")
            print(
                f"{stamp} poked at version {version}: pulled {report.changes} changes; cursor {store.cursor}"
            )
            sys.stdout.flush()
            done += 1
            if refreshes is not None and done >= refreshes:
                break
    return 0


async def _run(args: argparse.Namespace) -> int:
    store = LocalStore(args.db)
    try:
        if args.command == "pair":
            await _pair(store, args.url, args.code, args.name)
        elif args.command == "refresh":
            await _refresh(store)
        elif args.command == "upload":
            return await _upload(store, args.file, args.example)
        elif args.command == "status":
            return await _status(store, args.wait, args.json)
        elif args.command == "watch":
            return await _watch(store, args.refreshes)
        return 0
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except httpx.HTTPStatusError as exc:
        print(f"error: {exc.response.status_code} from the server: {exc.response.text}", file=sys.stderr)
        return 1
    except httpx.TransportError as exc:
        print(f"error: cannot reach the server: {exc!r}", file=sys.stderr)
        return 1
