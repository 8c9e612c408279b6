"""The invariants of the convergence test, one function each, judged after everyone synced and forwarding
drained.

Each check returns the problems it found (empty: it holds), each problem naming the records concerned.
``Final`` is what the checks look at: the server's records as a fresh device pulls them, Xero's records
read through its API, the outbox as the admin sees it, and the model kept by the world.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.convergence.devices import CUSTOMER_FIELDS, NativeDevice, WatermelonDevice
from tests.convergence.world import World, money, xero_value

Problems = list[str]


@dataclass
class Final:
    server: dict[tuple[str, str], Any]  # a fresh native phone's records: (entity, id) -> record
    fresh_native: NativeDevice
    fresh_watermelon: WatermelonDevice | None
    contacts: dict[str, dict[str, Any]]  # Xero, by lower-case ContactID
    invoices: dict[str, dict[str, Any]]
    payments: dict[str, dict[str, Any]]
    uploads: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]  # what GET /admin/api/conflicts shows the admin

    def records(self, entity: str) -> dict[str, dict[str, Any]]:
        return {record_id: record for (kind, record_id), record in self.server.items() if kind == entity}


def recorded_conflicts(world: World, final: Final) -> set[tuple[str, str]] | None:
    """(record id, field) of every conflict ledgersync recorded and shows the admin."""
    return {(str(c["record_id"]), str(c["field"])) for c in final.conflicts}


def _diff(label: str, mine: dict[Any, Any], theirs: dict[Any, Any], limit: int = 12) -> Problems:
    problems: Problems = []
    for key in sorted(set(mine) | set(theirs), key=str):
        if key not in theirs:
            problems.append(f"{label}: has {key} which a fresh device does not")
        elif key not in mine:
            problems.append(f"{label}: lacks {key} which a fresh device has")
        elif mine[key] != theirs[key]:
            changed = _changed_fields(mine[key], theirs[key])
            problems.append(f"{label}: {key} differs from a fresh device's: {changed}")
    return problems[:limit] + ([f"{label}: … {len(problems) - limit} more"] if len(problems) > limit else [])


def _changed_fields(mine: Any, theirs: Any) -> str:
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return ", ".join(
            f"{k}: {mine.get(k)!r} vs {theirs.get(k)!r}"
            for k in sorted(set(mine) | set(theirs))
            if mine.get(k) != theirs.get(k)
        )
    return f"{mine!r} vs {theirs!r}"


def check_no_request_failed(world: World, final: Final) -> Problems:
    """No action of a user (a sync, an offline change, a Xero user's change) failed with an error."""
    return list(world.action_errors)


def check_forwarding_drains(world: World, final: Final) -> Problems:
    """After the last round nothing is due, in flight or retrying: no upload retries forever."""
    return [failure for failure in world.drain_failures if failure.startswith("round 3:")]


def check_mirror_pulls_succeed(world: World, final: Final) -> Problems:
    """Every mirror pull (Sync now) succeeded, whatever phones and the forwarder did meanwhile."""
    return list(world.failed_pulls)


# A deletion the server refused comes back to the app that made it with the reason in its sync columns,
# which stay until the app next changes the record (docs/watermelondb.md, "Deletions"); a fresh app has
# the record without them. The record itself must be the same.
_REFUSED_DELETIONS = frozenset({"not_deletable", "invoice_has_payments"})


def _refused_deletion(row: Any) -> bool:
    return isinstance(row, dict) and row.get("sync_code") in _REFUSED_DELETIONS


def _without_refused_deletion(row: Any) -> Any:
    return {k: v for k, v in row.items() if not k.startswith("sync_")} if isinstance(row, dict) else row


_GONE_FOR_WATERMELON = {"invoice": ("VOIDED", "DELETED"), "payment": ("DELETED",)}


def check_devices_equal_a_fresh_pull(world: World, final: Final) -> Problems:
    """Every device holds what a fresh device of its protocol pulls (WatermelonDB: bar rows it holds as
    rejected, with the reason), and both protocols see the same customers, invoices and payments."""
    problems: Problems = []
    fresh_native = final.fresh_native.records()
    for device in world.devices:
        if isinstance(device, NativeDevice):
            problems += _diff(device.name, device.records(), fresh_native)
            continue
        assert final.fresh_watermelon is not None
        refused = device.refusals()
        unsynced = device.unsynced()
        for key, status in sorted(unsynced.items()):
            if key[1] not in refused and not (
                key[0] == "invoice_lines" and _line_of_refused(device, key[1], refused)
            ):
                problems.append(
                    f"{device.name}: {key} is still {status} after the final sync, with no reason shown"
                )
        held = {k: v for k, v in device.comparable().items() if k not in unsynced}
        mine = {k: _without_refused_deletion(v) if _refused_deletion(v) else v for k, v in held.items()}
        theirs = {
            k: _without_refused_deletion(v) if _refused_deletion(held.get(k)) else v
            for k, v in final.fresh_watermelon.comparable().items()
        }
        problems += _diff(device.name, mine, {k: v for k, v in theirs.items() if k not in unsynced})
    if final.fresh_watermelon is not None:
        tables = {"customer": "customers", "invoice": "invoices", "payment": "payments"}
        watermelon = final.fresh_watermelon.comparable()
        for entity, table in tables.items():
            # Voided and deleted invoices, deleted payments: native phones keep them with their status,
            # WatermelonDB apps get them as deleted rows (docs/watermelondb.md, "Deletions").
            native_ids = {
                record_id
                for record_id, record in final.records(entity).items()
                if record.get("status") not in _GONE_FOR_WATERMELON.get(entity, ())
            }
            watermelon_ids = {record_id for (kind, record_id) in watermelon if kind == table}
            if native_ids != watermelon_ids:
                problems.append(
                    f"{entity}: native pull has {sorted(native_ids - watermelon_ids)} "
                    "that WatermelonDB lacks, "
                    f"WatermelonDB has {sorted(watermelon_ids - native_ids)} that the native pull lacks"
                )
    return problems


def _line_of_refused(device: WatermelonDevice, line_id: str, refused: dict[str, str]) -> bool:
    row = device.comparable().get(("invoice_lines", line_id)) or {}
    return str(row.get("invoice_id")) in refused


def check_records_equal_xero(world: World, final: Final) -> Problems:
    """Every record in Xero equals Xero field by field, except fields where a conflict was recorded."""
    exempt = recorded_conflicts(world, final) or set()
    problems: Problems = []
    for record_id, customer in final.records("customer").items():
        xero_id = str(customer.get("xero_id") or "").lower()
        contact = final.contacts.get(xero_id)
        if not xero_id:
            continue
        if contact is None:
            problems.append(f"customer {record_id}: Xero has no contact {xero_id}")
            continue
        if contact["ContactStatus"] != "ACTIVE":
            problems.append(f"customer {record_id}: archived in Xero ({xero_id}) but still on the server")
        for name in CUSTOMER_FIELDS:
            ours, theirs = str(customer.get(name) or ""), xero_value(contact, name)
            if ours != theirs and (record_id, name) not in exempt:
                problems.append(f"customer {record_id} {name}: server {ours!r}, Xero {theirs!r}")
    xero_of_invoice: dict[str, str] = {}
    for record_id, invoice in final.records("invoice").items():
        xero_id = str(invoice.get("xero_id") or "").lower()
        state = (invoice.get("sync") or {}).get("state")
        if not xero_id:
            if state == "in_xero":
                problems.append(f"invoice {record_id}: in_xero without a xero_id")
            continue
        xero_of_invoice[record_id] = xero_id
        theirs = final.invoices.get(xero_id)
        if theirs is None:
            problems.append(f"invoice {record_id}: Xero has no invoice {xero_id}")
            continue
        pairs = {
            "status": (invoice.get("status"), theirs["Status"]),
            "invoice_number": (invoice.get("invoice_number"), theirs.get("InvoiceNumber")),
            "reference": (invoice.get("reference") or "", theirs.get("Reference") or ""),
        }
        for name, key in (
            ("sub_total", "SubTotal"),
            ("total_tax", "TotalTax"),
            ("total", "Total"),
            ("amount_paid", "AmountPaid"),
            ("amount_due", "AmountDue"),
        ):
            pairs[name] = (money(invoice.get(name) or 0), money(theirs.get(key) or 0))
        for name, (ours, xero) in pairs.items():
            if ours != xero and (record_id, name) not in exempt:
                problems.append(f"invoice {record_id} {name}: server {ours}, Xero {xero}")
    for record_id, payment in final.records("payment").items():
        xero_id = str(payment.get("xero_id") or "").lower()
        if not xero_id:
            continue
        theirs = final.payments.get(xero_id)
        if theirs is None:
            problems.append(f"payment {record_id}: Xero has no payment {xero_id}")
            continue
        if money(payment["amount"]) != money(theirs["Amount"]):
            problems.append(
                f"payment {record_id} amount: server {payment['amount']}, Xero {theirs['Amount']}"
            )
        if payment.get("status", "AUTHORISED") != theirs["Status"]:
            problems.append(
                f"payment {record_id} status: server {payment.get('status')}, Xero {theirs['Status']}"
            )
        invoice_xero = xero_of_invoice.get(payment["invoice_id"])
        if invoice_xero and theirs["Invoice"]["InvoiceID"].lower() != invoice_xero:
            problems.append(
                f"payment {record_id}: on invoice {invoice_xero} here, "
                f"{theirs['Invoice']['InvoiceID']} in Xero"
            )
    return problems


def _refused_edits(world: World, final: Final) -> set[tuple[str, str]]:
    """(device name, record id) of customer uploads refused at the door or by Xero."""
    names = {device.device_id: device.name for device in world.devices}
    return {
        (names.get(upload["device_id"] or "", ""), upload["record_id"])
        for upload in final.uploads
        if upload["entity"] == "customer" and upload["state"] in ("failed", "rejected", "superseded")
    }


def concurrent_edits(world: World, final: Final) -> tuple[Problems, dict[tuple[str, str], set[str]]]:
    """Judges every edited customer field against its final value.

    An edit is *superseded* when a later edit started from its value (or from a value that did); the
    edits nobody superseded must all be kept: one such edit means the field must end with its value; more
    than one, with different values, is a conflict: the field ends with one of them, and the conflict
    must be recorded. Returns (lost edits, conflicts by (record id, field) with the competing values).
    """
    refused = _refused_edits(world, final)
    recorded = recorded_conflicts(world, final) or set()
    customers = final.records("customer")
    lost: Problems = []
    conflicts: dict[tuple[str, str], set[str]] = {}
    by_field: dict[tuple[str, str], list[Any]] = {}
    for edit in world.edits:
        if (edit.actor, edit.record_id) in refused or _deleted_after(world, edit):
            continue
        by_field.setdefault((edit.record_id, edit.field), []).append(edit)
    for (record_id, name), edits in sorted(by_field.items()):
        customer = customers.get(record_id)
        if customer is None:
            continue  # archived in Xero or never accepted: other checks judge that
        unseen = [e for e in edits if not any(e.n in other.seen for other in edits)]
        # A three-way merge sees net changes: a side whose last edit put back the value another side
        # started from (Xero set a phone number, then cleared it again) changed nothing against it.
        # A side "started from" the value before its own run of edits (a phone's Last10 then Last16
        # is one change from '' when its merge comes).
        kept = [
            e for e in unseen if not any(o is not e and e.value in _starts(o, edits) for o in unseen)
        ] or unseen
        values = {e.value for e in kept}
        final_value = str(customer.get(name) or "")
        who = ", ".join(f"#{e.n} {e.actor}@{e.step}={e.value!r}" for e in kept)
        # Unless the merge ran in between: it met both sides' edits, recorded the conflict and kept
        # one; the later edit that put the old value back was made knowing the winner.
        decided = (record_id, name) in recorded and final_value in {e.value for e in unseen}
        if final_value not in values and not decided:
            lost.append(
                f"customer {record_id} {name} ends {final_value!r}; edits nobody overrode: {who}"
                f"{' (a conflict is recorded)' if (record_id, name) in recorded else ''}"
            )
        elif len(values) > 1:
            conflicts[(record_id, name)] = values
    return lost, conflicts


def _deleted_after(world: World, edit: Any) -> bool:
    """The edit's app deleted the customer later: WatermelonDB pushes a record updated and then
    deleted as deleted only, so an edit not synced before it was never sent (the server refuses the
    deletion and the app gets the server's record back)."""
    return any(
        (actor, record_id) == (edit.actor, edit.record_id) and step > edit.step
        for actor, record_id, step in world.customer_deletions
    )


def _starts(edit: Any, edits: list[Any]) -> set[str]:
    """The values ``edit``'s side may have started from: its own ``was``, and that of each earlier edit
    of the same actor it built on (its value was the next one's ``was``)."""
    starts, current = {edit.was}, edit
    while True:
        earlier = [
            e for e in edits if e.actor == current.actor and e.n in current.seen and e.value == current.was
        ]
        if not earlier:
            return starts
        current = max(earlier, key=lambda e: e.n)
        starts.add(current.was)


def check_no_edit_lost(world: World, final: Final) -> Problems:
    """No user's edit of a customer field disappears unless a later edit, made knowing it, replaced it."""
    lost, _ = concurrent_edits(world, final)
    return lost


def check_conflicts_recorded_and_shown(world: World, final: Final) -> Problems:
    """Where a phone and Xero (or two phones) changed one field concurrently, the conflict is recorded."""
    _, conflicts = concurrent_edits(world, final)
    if not conflicts:
        return []
    recorded = recorded_conflicts(world, final)
    if recorded is None:
        return [
            f"no conflicts record exists (recorded_conflicts is not wired); concurrent edits: "
            f"{sorted((r, f, sorted(v)) for (r, f), v in conflicts.items())[:10]}"
        ]
    customers = final.records("customer")
    return [
        f"customer {r} {f}: concurrent values {sorted(v)}, no conflict recorded; it ends "
        f"{str((customers.get(r) or {}).get(f) or '')!r}"
        for (r, f), v in conflicts.items()
        if (r, f) not in recorded
    ]


def check_offline_creates_in_xero_once_or_rejected(world: World, final: Final) -> Problems:
    """Every record made offline is in Xero exactly once, or refused with a reason its device holds
    (a record its device voided or deleted before it reached Xero may be in Xero not at all)."""
    problems: Problems = []
    devices = {device.name: device for device in world.devices}
    contact_numbers = Counter(str(c.get("ContactNumber") or "") for c in final.contacts.values())
    invoice_urls = Counter(
        str(i.get("Url") or "").rsplit("/admin/invoices/", 1)[-1] for i in final.invoices.values()
    )
    payments = final.records("payment")
    linked = {str(p.get("xero_id") or "").lower() for p in payments.values()}
    for create in world.creates:
        device = devices[create.actor]
        if create.entity == "customer":
            count = contact_numbers[create.record_id]
        elif create.entity == "invoice":
            count = invoice_urls[create.record_id]
        else:
            xero_id = str((payments.get(create.record_id) or {}).get("xero_id") or "").lower()
            count = 1 if xero_id and xero_id in final.payments else 0
        reason = _reason_held(device, create.record_id)
        if count == 1 or (count == 0 and (reason or create.record_id in world.removed_by)):
            continue
        states = [
            f"{u['kind']} {u['state']} {u['last_error']!r}"
            for u in final.uploads
            if u["record_id"] == create.record_id
        ]
        problems.append(
            f"{create.entity} {create.record_id} made on {create.actor} at step {create.step}: "
            f"{count} times in Xero, {'reason held: ' + reason if reason else 'no reason on the device'}; "
            f"its uploads: {states}"
        )
    ours = {str(i.get("xero_id") or "").lower() for i in final.records("invoice").values()}
    for payment_id, payment in final.payments.items():
        if payment_id in world.user_payments or payment_id in linked:
            continue
        if payment["Invoice"]["InvoiceID"].lower() in ours:
            problems.append(
                f"Xero payment {payment_id} of {payment['Amount']} on an uploaded invoice: no record has it"
            )
    return problems


def _reason_held(device: Any, record_id: str) -> str:
    reason: str = device.refusals().get(record_id, "")
    if reason:
        return reason
    if isinstance(device, NativeDevice):
        for (_, rid), record in device.records().items():
            sync = record.get("sync") or {}
            if rid == record_id and sync.get("state") == "failed" and sync.get("message"):
                return f"failed: {sync['message']}"
    return ""


def check_no_upload_waits_silently(world: World, final: Final) -> Problems:
    """Every upload still waiting says what for: its outbox message, or its record's sync message."""
    problems: Problems = []
    for upload in final.uploads:
        if upload["state"] != "waiting":
            continue
        record = final.server.get((upload["entity"], upload["record_id"])) or {}
        message = upload.get("last_error") or (record.get("sync") or {}).get("message") or ""
        if not message:
            problems.append(
                f"{upload['kind']} upload {upload['id']} of {upload['entity']} {upload['record_id']} "
                "waits with no message"
            )
    return problems


CHECKS: list[Callable[[World, Final], Problems]] = [
    check_no_request_failed,
    check_mirror_pulls_succeed,
    check_forwarding_drains,
    check_devices_equal_a_fresh_pull,
    check_records_equal_xero,
    check_no_edit_lost,
    check_conflicts_recorded_and_shown,
    check_offline_creates_in_xero_once_or_rejected,
    check_no_upload_waits_silently,
]


async def check_a_quiet_feed_stops_moving(world: World, final: Final) -> Problems:
    """Nothing happens anywhere for two rounds (mirror pull, every device syncs): the feed version stays."""
    observer = final.fresh_native
    await observer.phone.refresh()
    before, records = observer.phone.store.cursor, observer.records()
    for _ in range(2):
        await world.mirror_pull()
        await world.sync_everyone()
        if final.fresh_watermelon is not None:
            await final.fresh_watermelon.sync()
    await observer.phone.refresh()
    after = observer.phone.store.cursor
    if after == before:
        return []
    moved = _diff("feed", observer.records(), records)
    return [f"the feed moved from version {before} to {after} with nothing happening", *moved]


def describe(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)
