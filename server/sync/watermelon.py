"""WatermelonDB's ``synchronize()`` served over ledgersync's own change feed and push.

Pull reads the feed (``sync_records``) exactly as the native pull does, in one snapshot, and
reshapes each record into rows of the app's tables (``server.sync.watermelon_rows``). The
timestamp is the feed cursor plus one. A record the client has never seen (created after its
cursor, and not uploaded by this device) is ``created``; so is a line another device added to an
invoice the client holds (``watermelon_invoice_lines`` records when and by whom each line joined),
and a record whose deletion by this device was refused; everything else is ``updated``. Voided
invoices and deleted payments are deleted records to WatermelonDB apps (in ``deleted``, never in a
snapshot), unless Xero refused the void. A cursor the feed can no longer serve incrementally gets
the whole data set with ``experimentalStrategy: "replacement"`` (WatermelonDB keeps records it has
not pushed yet).

Push translates the app's rows into the native mutations and runs them through
``PushService.push_with`` — the native validation, idempotent storage and dependency tracking,
in one transaction with the checks WatermelonDB asks for:

- a record already in the state pushed is left alone (a re-pushed create after a lost
  response is a no-op, not a second copy);
- otherwise, a record changed on the server after ``lastPulledAt`` aborts the whole push
  (409 ``push_conflict``): the app pulls, merges and pushes again;
- an edit is judged against the record it was made from, as a native phone's ``base``: the record as
  of the cursor the device's last pull started from (WatermelonDB's pull keeps the app's changed
  columns over what it brings), or as of the base of an edit the server did not take before (a 409, a
  rejection), so a field a Xero user changed meanwhile is a conflict (``_PushPlan._bases``);
- mutation ids are derived from the content and the versions of what it refers to, so a re-push
  of something applied is a replay; a re-push of something rejected is judged again against the
  current tax rates, accounts, settings and records (``PushService.push_with``), and while the
  judgement is the same nothing is written;
- a deletion the server will not carry out (a customer, an invoice with payments) is a rejection,
  so WatermelonDB keeps the record; the next pull hands it back as ``created``, which restores it;
- rejected records come back in ``experimentalRejectedIds`` (WatermelonDB keeps them unsynced)
  and, through the feed, as their ``sync_state = 'rejected'`` / ``sync_message`` columns on this
  device's next pull (entity ``upload_rejection``, one per device and record:
  ``server.sync.rejections``; native phones skip entities they do not know).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from sqlalchemy import case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.database import Database
from server.db.models import SyncRecord
from server.db.sync_models import Upload
from server.db.watermelon_models import WatermelonInvoiceLine, WatermelonPull, WatermelonRecordBase
from server.errors import Conflict, InvalidInput
from server.services.devices import DevicePrincipal
from server.sync import feed, outbox, watermelon_rows
from server.sync.feed import Change
from server.sync.mutations import PushService
from server.sync.rejections import REJECTION, RejectionNote, note_key
from server.sync.watermelon_rows import (
    Unusable,
    changed_customer_fields,
    changed_invoice_fields,
    customer_draft,
    invoice_draft,
    line_rows,
    payment_draft,
    record_row,
    same,
)
from sync_protocol import drafts
from sync_protocol.entities import Customer, Entity, Invoice, Payment, decode_entity
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import (
    AnyMutation,
    CreatePayment,
    DeletePayment,
    MutationResult,
    UpsertCustomer,
    UpsertInvoice,
    VoidInvoice,
)
from sync_protocol.messages import PushResponse as NativePushResponse
from sync_protocol.watermelon import (
    NOT_DELETABLE,
    PUSH_CONFLICT,
    READ_ONLY,
    TABLE_BY_NAME,
    TABLE_OF_ENTITY,
    TABLES,
    TIMESTAMP_OFFSET,
    Changes,
    PullResponse,
    PushResponse,
    RawRecord,
    Rejection,
    TableChanges,
)

_UPLOADED = frozenset({"customer", "invoice", "payment"})
_CHUNK = 500
E = TypeVar("E", bound=Entity)


class PushConflict(Conflict):
    code = PUSH_CONFLICT


_note_decoder = msgspec.json.Decoder(RejectionNote)
_mutation_decoder = msgspec.json.Decoder(AnyMutation)


def cursor_of(last_pulled_at: int | None) -> int:
    return max(last_pulled_at - TIMESTAMP_OFFSET, 0) if last_pulled_at else 0


def _rejection_columns(note: RejectionNote | Rejection, mutation_id: str) -> RawRecord:
    return {
        "sync_state": "rejected",
        "sync_mutation_id": mutation_id,
        "sync_message": note.message,
        "sync_code": note.code,
        "sync_field": note.field or "",
    }


async def _in_chunks(ids: Sequence[str], query: Any, session: AsyncSession) -> list[Any]:
    rows: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        rows.extend((await session.execute(query(ids[start : start + _CHUNK]))).all())
    return rows


async def _line_positions(
    session: AsyncSession, organisation_id: uuid.UUID, invoice_ids: Sequence[str]
) -> dict[str, list[tuple[str, int | None]]]:
    """Every line id ever pushed for these invoices, with its position (None: removed)."""
    rows = await _in_chunks(
        list(dict.fromkeys(invoice_ids)),
        lambda chunk: select(
            WatermelonInvoiceLine.invoice_id, WatermelonInvoiceLine.line_id, WatermelonInvoiceLine.position
        ).where(
            WatermelonInvoiceLine.organisation_id == organisation_id,
            WatermelonInvoiceLine.invoice_id.in_(chunk),
        ),
        session,
    )
    found: dict[str, list[tuple[str, int | None]]] = {}
    for invoice_id, line_id, position in rows:
        found.setdefault(invoice_id, []).append((line_id, position))
    return found


def _notes_of(
    device: DevicePrincipal, rows: Iterable[tuple[str, str, int, int, bytes | None]]
) -> dict[tuple[str, str], tuple[RejectionNote, int]]:
    """This device's rejection notes among the pulled rows, by (table, record id), with their version."""
    notes: dict[tuple[str, str], tuple[RejectionNote, int]] = {}
    for entity, entity_id, version, _, payload in rows:
        if entity == REJECTION and payload is not None:
            note = _note_decoder.decode(payload)
            if note.device_id == str(device.device_id):
                notes[(note.table, note.record_id or entity_id)] = (note, version)
    return notes


def _line_ids(invoice: Entity | None, known: list[tuple[str, int | None]]) -> list[str]:
    """Every line id an app may hold for the invoice: those on it now and those ever pushed."""
    ids = _ids_by_position(known)
    on_it = [raw["id"] for raw in line_rows(invoice, ids)] if isinstance(invoice, Invoice) else []
    return list(dict.fromkeys([*on_it, *(line_id for line_id, _ in known)]))


def _voided(record: Entity | None) -> bool:
    """A voided or deleted invoice, a deleted payment: what an app's deletion of it leaves."""
    if isinstance(record, Invoice):
        return record.status in ("VOIDED", "DELETED")
    return isinstance(record, Payment) and record.status == "DELETED"


async def _failed_deletions(
    session: AsyncSession, organisation_id: uuid.UUID, record_ids: Sequence[str]
) -> set[str]:
    """The records whose latest upload is a void or payment deletion Xero refused.

    Voided on the server but not in Xero: apps get them back (with the failure in ``sync_*``)
    instead of as deleted.
    """
    rows = await _in_chunks(
        list(dict.fromkeys(record_ids)),
        lambda chunk: (
            select(Upload.record_id, Upload.kind, Upload.state)
            .where(
                Upload.organisation_id == organisation_id,
                Upload.record_id.in_(chunk),
                Upload.state.not_in((outbox.REJECTED, outbox.SUPERSEDED)),
            )
            .order_by(Upload.id)
        ),
        session,
    )
    latest = {record_id: (kind, state) for record_id, kind, state in rows}
    return {
        record_id
        for record_id, (kind, state) in latest.items()
        if kind in ("void_invoice", "delete_payment") and state == outbox.FAILED
    }


async def _lines_new_to(
    session: AsyncSession, device: DevicePrincipal, invoice_ids: Sequence[str], cursor: int
) -> set[str]:
    """Line ids that joined these invoices after ``cursor``, pushed by another device."""
    rows = await _in_chunks(
        list(dict.fromkeys(invoice_ids)),
        lambda chunk: select(WatermelonInvoiceLine.line_id).where(
            WatermelonInvoiceLine.organisation_id == device.organisation_id,
            WatermelonInvoiceLine.invoice_id.in_(chunk),
            WatermelonInvoiceLine.position.is_not(None),
            WatermelonInvoiceLine.created_version > cursor,
            or_(
                WatermelonInvoiceLine.device_id.is_(None), WatermelonInvoiceLine.device_id != device.device_id
            ),
        ),
        session,
    )
    return {line_id for (line_id,) in rows}


async def _lines_beyond(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    invoices: dict[str, Invoice],
    known: dict[str, list[tuple[str, int | None]]],
) -> dict[str, list[str]]:
    """Ids an app may hold for lines an invoice no longer has: positions past its last line.

    Lines no app pushed are named by position (``line_id``); when an edit (from a native phone)
    shortens the invoice, the ids of the positions it lost are deleted. How many lines the invoice
    ever had is read from its native uploads (WatermelonDB pushes, ``wm-…``, name their lines).
    """
    rows = await _in_chunks(
        list(invoices),
        lambda chunk: select(Upload.record_id, Upload.request).where(
            Upload.organisation_id == organisation_id,
            Upload.kind == "upsert_invoice",
            Upload.record_id.in_(chunk),
            Upload.mutation_id.not_like("wm-%"),
        ),
        session,
    )
    most: dict[str, int] = {}
    for record_id, request in rows:
        mutation = _mutation_decoder.decode(request)
        if isinstance(mutation, UpsertInvoice):
            most[record_id] = max(most.get(record_id, 0), len(mutation.invoice.lines))
    gone: dict[str, list[str]] = {}
    for invoice_id, invoice in invoices.items():
        pushed = _ids_by_position(known.get(invoice_id, []))
        ids = [
            watermelon_rows.line_id(invoice_id, p)
            for p in range(len(invoice.lines), most.get(invoice_id, 0))
            if p not in pushed
        ]
        if ids:
            gone[invoice_id] = ids
    return gone


def _ids_by_position(known: Iterable[tuple[str, int | None]]) -> dict[int, str]:
    return {position: line_id for line_id, position in known if position is not None}


class WatermelonSync:
    def __init__(self, database: Database, pushes: PushService) -> None:
        self._db = database
        self._pushes = pushes

    # --- pull -------------------------------------------------------------------------------

    async def pull(
        self, device: DevicePrincipal, last_pulled_at: int | None, migrated: bool = False
    ) -> PullResponse:
        """``migrated``: the app's schema grew since its last pull (WatermelonDB's ``migration``):
        records it has may lack values of new columns, so it gets the whole data set."""
        org = device.organisation_id
        cursor = cursor_of(last_pulled_at)
        async with self._db.snapshot() as session:
            latest, horizon = await feed.counter(session, org)
            replacement = cursor != 0 and (migrated or cursor < horizon or cursor > latest)
            after = 0 if replacement else cursor
            query = (
                select(
                    SyncRecord.entity,
                    SyncRecord.entity_id,
                    SyncRecord.version,
                    SyncRecord.created_version,
                    SyncRecord.payload,
                )
                .where(SyncRecord.organisation_id == org, SyncRecord.version > after)
                .order_by(SyncRecord.version)
            )
            if after == 0:
                query = query.where(SyncRecord.payload.is_not(None))
            rows: list[tuple[str, str, int, int, bytes | None]] = [
                (r.entity, r.entity_id, r.version, r.created_version, r.payload)
                for r in (await session.execute(query)).all()
            ]
            notes = _notes_of(device, rows)
            # A deletion this device pushed and the server refused: the app keeps the record marked
            # as deleted (rejected ids) until it gets it back, as ``created``.
            restore = {key for key, (note, version) in notes.items() if note.deleted and version > cursor}
            seen = {(TABLE_OF_ENTITY.get(r[0]), r[1]) for r in rows}
            missing = [(TABLE_BY_NAME[t].entity, i) for t, i in restore if (t, i) not in seen]
            if missing:
                found = await feed.current_payloads(session, org, missing)
                rows += [(e, i, 0, 0, found[(e, i)]) for e, i in missing if found.get((e, i)) is not None]
            invoice_ids = [r[1] for r in rows if r[0] == "invoice"]
            lines = await _line_positions(session, org, invoice_ids)
            new_lines = await _lines_new_to(session, device, invoice_ids, cursor)
            fresh = [r[1] for r in rows if r[0] in _UPLOADED and r[4] is not None and r[3] > cursor]
            own = {
                row.record_id
                for row in await _in_chunks(
                    fresh,
                    lambda chunk: select(Upload.record_id).where(
                        Upload.organisation_id == org,
                        Upload.device_id == device.device_id,
                        Upload.record_id.in_(chunk),
                    ),
                    session,
                )
            }
            records = {
                (entity, entity_id): decode_entity(entity, payload)
                for entity, entity_id, _, _, payload in rows
                if payload is not None and entity in TABLE_OF_ENTITY
            }
            shorter = await _lines_beyond(
                session,
                org,
                {i: r for (e, i), r in records.items() if after != 0 and isinstance(r, Invoice)},
                lines,
            )
            unvoided = await _failed_deletions(
                session, org, [i for (_, i), record in records.items() if record and _voided(record)]
            )
        changes: Changes = {table.name: TableChanges() for table in TABLES}
        placed: dict[tuple[str, str], RawRecord] = {}
        for entity, entity_id, _, created_version, payload in rows:
            table = TABLE_OF_ENTITY.get(entity)
            if table is None:
                continue  # an entity WatermelonDB apps do not keep (or a rejection note, read above)
            record = records.get((entity, entity_id)) if payload is not None else None
            if payload is not None and record is None:
                continue  # an entity this server version cannot decode
            known = lines.get(entity_id, [])
            if record is None or (_voided(record) and entity_id not in unvoided):
                # Gone, or voided / deleted: to a WatermelonDB app both are a deleted record.
                if after != 0:
                    changes[table].deleted.append(entity_id)
                    if entity == "invoice":
                        changes["invoice_lines"].deleted.extend(_line_ids(record, known))
                continue
            created = (
                (table, entity_id) in restore
                or entity_id in unvoided
                or (created_version > cursor and entity_id not in own)
            )
            raw = record_row(record)
            placed[(table, entity_id)] = raw
            (changes[table].created if created else changes[table].updated).append(raw)
            if isinstance(record, Invoice):
                target = changes["invoice_lines"]
                for line in line_rows(record, _ids_by_position(known)):
                    # A line another device added to an invoice this app holds is new to the app.
                    (target.created if created or line["id"] in new_lines else target.updated).append(line)
                if after != 0:
                    target.deleted.extend(i for i, position in known if position is None)
                    target.deleted.extend(shorter.get(entity_id, []))
        for (table, record_id), (note, _) in notes.items():
            columns = _rejection_columns(note, note.mutation_id)
            if (table, record_id) in placed:
                placed[(table, record_id)].update(columns)
            elif cursor != 0 and not note.deleted:
                # Only the rejection changed: the app's own unsynced row takes these columns.
                changes[table].updated.append({"id": record_id, **columns})
        pulled_to = max(after, latest)
        # The app's edits pushed after this pull were made from its records as of ``cursor`` (its
        # pull keeps them over what it brings). A first pull or a replacement: from what it brings.
        await self._note_pull(device, cursor if after != 0 else pulled_to, pulled_to)
        return PullResponse(
            changes=changes,
            timestamp=pulled_to + TIMESTAMP_OFFSET,
            experimentalStrategy="replacement" if replacement else None,
        )

    async def _note_pull(self, device: DevicePrincipal, pulled_from: int, pulled_to: int) -> None:
        async with self._db.transaction() as session:
            insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            statement = insert(WatermelonPull).values(
                device_id=device.device_id,
                organisation_id=device.organisation_id,
                pulled_from=pulled_from,
                pulled_to=pulled_to,
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["device_id"],
                    set_={"pulled_from": pulled_from, "pulled_to": pulled_to},
                )
            )

    # --- push -------------------------------------------------------------------------------

    async def push(self, device: DevicePrincipal, last_pulled_at: int, changes: Changes) -> PushResponse:
        _check_ids(changes)
        plan = _PushPlan(device, cursor_of(last_pulled_at), changes)
        try:
            await self._pushes.push_with(device, plan)
        except PushConflict:
            # Nothing applied: the app keeps its edits, pulls and pushes them again. Their base stays
            # the records as this push's were, not what the pull brings (``WatermelonRecordBase``).
            async with self._db.transaction() as session:
                await _keep_pending_bases(session, device, plan.edits())
            raise
        return plan.response()


def _check_ids(changes: Changes) -> None:
    """Whitelists record ids (WatermelonDB: safe characters only) before anything is read."""
    for name, table in changes.items():
        for kind, raws in (("created", table.created), ("updated", table.updated)):
            for index, raw in enumerate(raws):
                record_id = raw.get("id")
                if not isinstance(record_id, str) or not _safe_id(record_id):
                    raise InvalidInput(
                        "every record needs a string id of 1-64 letters, digits, '-', '_' or '.'",
                        field=f"{name}.{kind}[{index}].id",
                    )
        for index, record_id in enumerate(table.deleted):
            if not _safe_id(record_id):
                raise InvalidInput("deleted ids must be safe record ids", field=f"{name}.deleted[{index}]")


def _safe_id(record_id: str) -> bool:
    return 0 < len(record_id) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_.") for c in record_id)


@dataclass
class _Unit:
    """One mutation's worth of pushed rows: what to apply, and which rows answer for it."""

    table: str
    record_id: str
    rows: list[tuple[str, str]]
    mutation: AnyMutation | None = None
    line_ids: list[str] | None = None
    rejection: Rejection | None = None  # the rows could not even be read as a record
    skipped: bool = False  # the server has this already
    deletion: bool = False  # the app deleted the record (a void, a payment deletion)
    result: MutationResult | None = None
    # An edit of a record the server has: the app's cursor its edit started from (``_bases``), and the
    # fields the app says it changed (its rows' ``_changed``; None: they do not say).
    base_cursor: int | None = None
    named: list[Any] | None = None


class _Feed:
    """Current feed rows, read inside the push's transaction (under the organisation's lock)."""

    def __init__(self, session: AsyncSession, organisation_id: uuid.UUID) -> None:
        self._session = session
        self._org = organisation_id
        self._rows: dict[tuple[str, str], tuple[int, bytes | None] | None] = {}

    async def row(self, entity: str, record_id: str) -> tuple[int, bytes | None] | None:
        key = (entity, record_id)
        if key not in self._rows:
            found = (
                await self._session.execute(
                    select(SyncRecord.version, SyncRecord.payload).where(
                        SyncRecord.organisation_id == self._org,
                        SyncRecord.entity == entity,
                        SyncRecord.entity_id == record_id,
                    )
                )
            ).one_or_none()
            self._rows[key] = (found.version, found.payload) if found else None
        return self._rows[key]

    async def version(self, entity: str, record_id: str | None) -> int:
        found = await self.row(entity, record_id) if record_id else None
        return found[0] if found else 0

    async def record(self, cls: type[E], entity: str, record_id: str) -> E | None:
        found = await self.row(entity, record_id)
        if found is None or found[1] is None:
            return None
        return msgspec.json.decode(found[1], type=cls)


class _PushPlan:
    """A WatermelonDB push as native mutations (``BatchSteps`` of ``PushService.push_with``)."""

    def __init__(self, device: DevicePrincipal, cursor: int, changes: Changes) -> None:
        self._device = device
        self._org = device.organisation_id
        self._cursor = cursor
        self._changes = changes
        self._units: list[_Unit] = []
        self._read_only: list[Rejection] = []
        self._line_invoices: dict[str, str] = {}

    def _table(self, name: str) -> TableChanges:
        return self._changes.get(name) or TableChanges()

    async def before(self, session: AsyncSession) -> list[AnyMutation]:
        self._units, self._read_only = [], []
        state = _Feed(session, self._org)
        for name, changes in self._changes.items():
            table = TABLE_BY_NAME.get(name)
            if table is not None and table.read_only:
                ids = [raw["id"] for raw in changes.created + changes.updated] + changes.deleted
                self._read_only += [
                    Rejection(table=name, id=i, code=READ_ONLY, message=f"{name} come from Xero: read only")
                    for i in ids
                ]
            # Tables ledgersync does not know are the app's own (local-only): not ours to sync.
        self._customers()
        await self._invoices(session, state)
        self._payments()
        await self._deletions(state)
        await self._bases(session, state)
        mutations = []
        for unit in self._units:
            if unit.mutation is not None:
                await self._settle(unit, state)
                if unit.mutation is not None:
                    mutations.append(unit.mutation)
        return mutations

    # Customers, then invoices, then payments, then deletions: the order dependencies need.
    def _customers(self) -> None:
        changes = self._table("customers")
        for raw in changes.created + changes.updated:
            unit = _Unit("customers", raw["id"], [("customers", raw["id"])])
            try:
                # ``_changed``: the columns the app edited; the rest of the row is its last pull.
                changed = changed_customer_fields(raw)
                unit.mutation = UpsertCustomer(mutation_id="", customer=customer_draft(raw), changed=changed)
                unit.named = list(changed) if changed is not None else None
            except Unusable as exc:
                unit.rejection = Rejection(
                    table="customers",
                    id=unit.record_id,
                    code=ErrorCode.INVALID_INPUT,
                    message=exc.message,
                    field=exc.field,
                )
            self._units.append(unit)

    async def _invoices(self, session: AsyncSession, state: _Feed) -> None:
        headers = {
            raw["id"]: raw for raw in self._table("invoices").created + self._table("invoices").updated
        }
        voided = set(self._table("invoices").deleted)
        pushed_lines = self._table("invoice_lines").created + self._table("invoice_lines").updated
        deleted_lines = self._table("invoice_lines").deleted
        self._line_invoices = known = {
            line_id: invoice_id
            for line_id, invoice_id in await _in_chunks(
                [raw["id"] for raw in pushed_lines] + deleted_lines,
                lambda chunk: select(WatermelonInvoiceLine.line_id, WatermelonInvoiceLine.invoice_id).where(
                    WatermelonInvoiceLine.organisation_id == self._org,
                    WatermelonInvoiceLine.line_id.in_(chunk),
                ),
                session,
            )
        }
        lines_of: dict[str, list[RawRecord]] = {}
        removed_of: dict[str, list[str]] = {}
        for raw in pushed_lines:
            invoice_id = (
                raw.get("invoice_id") if isinstance(raw.get("invoice_id"), str) else known.get(raw["id"])
            )
            if not invoice_id:
                self._units.append(
                    _Unit(
                        "invoice_lines",
                        raw["id"],
                        [("invoice_lines", raw["id"])],
                        rejection=Rejection(
                            table="invoice_lines",
                            id=raw["id"],
                            code=ErrorCode.INVALID_INPUT,
                            message="a line needs the invoice_id of its invoice",
                            field="invoice_id",
                        ),
                    )
                )
                continue
            lines_of.setdefault(invoice_id, []).append(raw)
        for line_id in deleted_lines:
            if line_id in known:  # deleting a line the server never had: nothing to do
                removed_of.setdefault(known[line_id], []).append(line_id)
        positions = await _line_positions(session, self._org, list({**headers, **lines_of, **removed_of}))
        for invoice_id in dict.fromkeys([*headers, *lines_of, *removed_of]):
            if invoice_id in voided:
                continue  # deleted as a whole below
            rows = [("invoices", invoice_id)] if invoice_id in headers else []
            rows += [("invoice_lines", raw["id"]) for raw in lines_of.get(invoice_id, [])]
            rows += [("invoice_lines", line_id) for line_id in removed_of.get(invoice_id, [])]
            unit = _Unit("invoices", invoice_id, rows)
            self._units.append(unit)
            server = await state.record(Invoice, "invoice", invoice_id)
            header = headers.get(invoice_id) or (record_row(server) if server else None)
            if header is None:
                unit.rejection = Rejection(
                    table="invoice_lines",
                    id=rows[0][1],
                    code=ErrorCode.UNKNOWN_INVOICE,
                    message=f"no invoice {invoice_id} for these lines",
                    field="invoice_id",
                )
                continue
            current = {
                raw["id"]: raw
                for raw in (
                    line_rows(server, _ids_by_position(positions.get(invoice_id, []))) if server else []
                )
            }
            for line_id in removed_of.get(invoice_id, []):
                current.pop(line_id, None)
            current.update({raw["id"]: raw for raw in lines_of.get(invoice_id, [])})
            ordered = sorted(current.values(), key=_line_order)
            unit.line_ids = [raw["id"] for raw in ordered]
            unit.named = changed_invoice_fields(
                headers.get(invoice_id), bool(lines_of.get(invoice_id) or removed_of.get(invoice_id))
            )
            try:
                unit.mutation = UpsertInvoice(mutation_id="", invoice=invoice_draft(header, ordered))
            except Unusable as exc:
                unit.rejection = Rejection(
                    table="invoices",
                    id=invoice_id,
                    code=ErrorCode.INVALID_INPUT,
                    message=exc.message,
                    field=exc.field,
                )

    def _payments(self) -> None:
        changes = self._table("payments")
        for raw in changes.created + changes.updated:
            unit = _Unit("payments", raw["id"], [("payments", raw["id"])])
            try:
                unit.mutation = CreatePayment(mutation_id="", payment=payment_draft(raw))
            except Unusable as exc:
                unit.rejection = Rejection(
                    table="payments",
                    id=unit.record_id,
                    code=ErrorCode.INVALID_INPUT,
                    message=exc.message,
                    field=exc.field,
                )
            self._units.append(unit)

    async def _deletions(self, state: _Feed) -> None:
        """Deleting a record the server does not have, or has deleted already, is a no-op.

        A deletion the server will not carry out is a rejection: the app keeps the record (marked
        deleted) and gets it back, as ``created``, on its next pull.
        """
        for payment_id in self._table("payments").deleted:
            payment = await state.record(Payment, "payment", payment_id)
            if payment is not None and payment.status != "DELETED":
                self._units.append(
                    _Unit(
                        "payments",
                        payment_id,
                        [("payments", payment_id)],
                        DeletePayment(mutation_id="", payment_id=payment_id),
                        deletion=True,
                    )
                )
        lines = self._table("invoice_lines").deleted
        for invoice_id in self._table("invoices").deleted:
            invoice = await state.record(Invoice, "invoice", invoice_id)
            if invoice is not None and invoice.status not in ("VOIDED", "DELETED"):
                rows = [("invoices", invoice_id)]
                rows += [("invoice_lines", i) for i in lines if self._line_invoices.get(i) == invoice_id]
                self._units.append(
                    _Unit(
                        "invoices",
                        invoice_id,
                        rows,
                        VoidInvoice(mutation_id="", invoice_id=invoice_id),
                        deletion=True,
                    )
                )
        for customer_id in self._table("customers").deleted:
            if await state.record(Customer, "customer", customer_id) is not None:
                rejection = Rejection(
                    table="customers",
                    id=customer_id,
                    code=NOT_DELETABLE,
                    message="customers cannot be deleted from a phone: archive the contact in Xero",
                )
                unit = _Unit("customers", customer_id, [("customers", customer_id)], rejection=rejection)
                unit.deletion = True
                self._units.append(unit)

    def edits(self) -> list[_Unit]:
        """The pushed edits of records the server has (with the cursor they started from)."""
        return [unit for unit in self._units if unit.base_cursor is not None]

    async def _bases(self, session: AsyncSession, state: _Feed) -> None:
        """Judges each edit against the record the app edited, not the one it pulled last.

        WatermelonDB's pull keeps the app's changed columns over what it brings, so a row pushed with
        ``last_pulled_at`` may hold an edit made before that pull, of a field the pull changed (a Xero
        user's edit the mirror brought). The edit started from the records as of the device's previous
        cursor (``WatermelonPull``), or as of an earlier push of the record: one the server did not take,
        or one it applied, later than that cursor (``WatermelonRecordBase``). Where that record differs
        from the server's, it is the edit's
        ``base``, as a native phone sends it: a field both changed is a conflict, decided by the
        organisation's ``conflict_policy`` and recorded when the edit is forwarded.
        """
        edited = [
            unit
            for unit in self._units
            if unit.table in ("customers", "invoices") and not unit.deletion and unit.rejection is None
        ]
        if not edited:
            return
        pull = await session.get(WatermelonPull, self._device.device_id)
        start = pull.pulled_from if pull is not None and pull.pulled_to == self._cursor else self._cursor
        known = {
            (entity, record_id): (base_cursor, pending)
            for entity, record_id, base_cursor, pending in await _in_chunks(
                [unit.record_id for unit in edited],
                lambda chunk: select(
                    WatermelonRecordBase.entity,
                    WatermelonRecordBase.record_id,
                    WatermelonRecordBase.base_cursor,
                    WatermelonRecordBase.pending,
                ).where(
                    WatermelonRecordBase.device_id == self._device.device_id,
                    WatermelonRecordBase.record_id.in_(chunk),
                ),
                session,
            )
        }
        for unit in edited:
            entity = TABLE_BY_NAME[unit.table].entity
            server = await state.row(entity, unit.record_id)
            if server is None or server[1] is None:
                continue  # a create (or a record gone): no base to judge against
            base_cursor, pending = known.get((entity, unit.record_id), (start, False))
            # A refused edit's base stays; the device's own applied edit is in its copy (or a later pull).
            unit.base_cursor = min(base_cursor if pending else max(start, base_cursor), self._cursor)
            mutation = unit.mutation
            if unit.named is None or unit.base_cursor >= self._cursor or mutation is None:
                continue  # the server's record is the base (no 409: unchanged since the app's cursor)
            base = await feed.payload_as_of(session, self._org, entity, unit.record_id, unit.base_cursor)
            if base is None or base == server[1]:
                continue
            if isinstance(mutation, UpsertCustomer):
                old = msgspec.json.decode(base, type=Customer)
                unit.mutation = msgspec.structs.replace(mutation, base=drafts.customer_base(old))
            elif isinstance(mutation, UpsertInvoice):
                earlier = msgspec.json.decode(base, type=Invoice)
                unit.mutation = msgspec.structs.replace(
                    mutation, base=drafts.invoice_draft(earlier), changed=unit.named
                )

    async def _settle(self, unit: _Unit, state: _Feed) -> None:
        """Skips what the server has already, refuses a conflict, and names the mutation."""
        mutation = unit.mutation
        assert mutation is not None
        entity = TABLE_BY_NAME[unit.table].entity
        server = await state.row(entity, unit.record_id)
        if server is not None and server[1] is not None and _already(mutation, server[1]):
            unit.mutation, unit.skipped = None, True
            return
        if server is not None and server[0] > self._cursor:
            raise PushConflict(
                f"{unit.table} {unit.record_id} changed on the server after last_pulled_at: "
                "pull, then push again",
                details={
                    "table": unit.table,
                    "id": unit.record_id,
                    "last_pulled_at": self._cursor + TIMESTAMP_OFFSET,
                },
            )
        # The versions of what validation reads: an unchanged re-push replays its stored result.
        versions = [server[0] if server else 0]
        if isinstance(mutation, UpsertInvoice):
            versions.append(await state.version("customer", mutation.invoice.customer_id))
            versions += [await state.version("product", line.product_id) for line in mutation.invoice.lines]
        if isinstance(mutation, CreatePayment):
            versions.append(await state.version("invoice", mutation.payment.invoice_id))
        digest = hashlib.sha256(msgspec.json.encode([versions, mutation])).hexdigest()
        unit.mutation = msgspec.structs.replace(mutation, mutation_id=f"wm-{digest[:48]}")

    async def after(self, session: AsyncSession, response: NativePushResponse) -> None:
        results = iter(response.results)
        notes: list[Change] = []
        refused: list[_Unit] = []
        for unit in self._units:
            if unit.mutation is not None:
                unit.result = next(results)
            rejection = unit.rejection or _rejection_of(unit)
            if rejection is not None and unit.base_cursor is not None:
                refused.append(unit)  # the app keeps this edit unsynced, from the same base
            key = note_key(self._device.device_id, unit.record_id)
            if rejection is None:
                notes.append(Change(REJECTION, key, None))
                if unit.line_ids is not None:
                    await _store_line_ids(
                        session, self._org, unit.record_id, unit.line_ids, self._device.device_id
                    )
            elif rejection.table != "invoice_lines":  # lines have no sync columns: their invoice says
                note = RejectionNote(
                    device_id=str(self._device.device_id),
                    table=unit.table,
                    code=rejection.code,
                    message=rejection.message,
                    field=rejection.field,
                    mutation_id=unit.mutation.mutation_id if unit.mutation else "",
                    deleted=unit.deletion,
                    record_id=unit.record_id,
                )
                notes.append(Change(REJECTION, key, msgspec.json.encode(note)))
        await feed.publish(session, self._org, notes)
        await _keep_pending_bases(session, self._device, refused)
        # Applied (or the server had it already): the device's copy is the record as it is now.
        taken = [
            unit
            for unit in self._units
            if unit.table in ("customers", "invoices")
            and not unit.deletion
            and (unit.rejection or _rejection_of(unit)) is None
        ]
        await _note_applied(session, self._device, taken)

    def response(self) -> PushResponse:
        rejected: dict[str, list[str]] = {}
        rejections = list(self._read_only)
        for unit in self._units:
            rejection = unit.rejection or _rejection_of(unit)
            if rejection is None:
                continue
            rejections.append(rejection)
            for table, record_id in unit.rows:
                rejected.setdefault(table, []).append(record_id)
        for rejection in self._read_only:
            rejected.setdefault(rejection.table, []).append(rejection.id)
        return PushResponse(experimentalRejectedIds=rejected, rejections=rejections)


def _rejection_of(unit: _Unit) -> Rejection | None:
    result = unit.result
    if result is None or result.status == "applied":
        return None
    return Rejection(
        table=unit.table,
        id=unit.record_id,
        code=result.code or "rejected",
        message=result.message,
        field=result.field,
    )


def _line_order(raw: RawRecord) -> tuple[float, str]:
    position = raw.get("position")
    return (position if isinstance(position, int | float) else 0, raw["id"])


def _already(mutation: AnyMutation, payload: bytes) -> bool:
    """Whether the server's record is already what the mutation asks for."""
    try:
        return _same_as_server(mutation, payload)
    except Unusable:  # the server's record is not one a phone could push (e.g. from Xero): not the same
        return False


def _same_as_server(mutation: AnyMutation, payload: bytes) -> bool:
    if isinstance(mutation, UpsertCustomer):
        return same(
            mutation.customer, customer_draft(record_row(msgspec.json.decode(payload, type=Customer)))
        )
    if isinstance(mutation, UpsertInvoice):
        invoice = msgspec.json.decode(payload, type=Invoice)
        return same(mutation.invoice, invoice_draft(record_row(invoice), line_rows(invoice, {})))
    if isinstance(mutation, CreatePayment):
        payment = msgspec.json.decode(payload, type=Payment)
        # A payment pushed without an account went to the organisation's: that is what it asked for.
        pushed = msgspec.structs.replace(
            mutation.payment, account_code=mutation.payment.account_code or payment.account_code
        )
        return same(pushed, payment_draft(record_row(payment)))
    return False


async def _keep_pending_bases(session: AsyncSession, device: DevicePrincipal, units: Sequence[_Unit]) -> None:
    """Remembers the base of edits the server did not take (computed from the one remembered before)."""
    await _put_bases(
        session,
        device,
        [
            (TABLE_BY_NAME[u.table].entity, u.record_id, u.base_cursor)
            for u in units
            if u.base_cursor is not None
        ],
        pending=True,
    )


async def _note_applied(session: AsyncSession, device: DevicePrincipal, units: Sequence[_Unit]) -> None:
    """Remembers the feed version of each record this push applied: the device's copy is as of it."""
    keys = [(TABLE_BY_NAME[unit.table].entity, unit.record_id) for unit in units]
    versions: dict[tuple[str, str], int] = {}
    for entity in ("customer", "invoice"):
        ids = [record_id for e, record_id in keys if e == entity]
        for record_id, version in await _in_chunks(
            ids,
            lambda chunk, entity=entity: select(SyncRecord.entity_id, SyncRecord.version).where(
                SyncRecord.organisation_id == device.organisation_id,
                SyncRecord.entity == entity,
                SyncRecord.entity_id.in_(chunk),
            ),
            session,
        ):
            versions[(entity, record_id)] = version
    await _put_bases(session, device, [(e, i, v) for (e, i), v in versions.items()], pending=False)


async def _put_bases(
    session: AsyncSession, device: DevicePrincipal, bases: Sequence[tuple[str, str, int]], pending: bool
) -> None:
    if not bases:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(WatermelonRecordBase)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["device_id", "entity", "record_id"],
            set_={"base_cursor": statement.excluded.base_cursor, "pending": statement.excluded.pending},
        ),
        [
            {
                "device_id": device.device_id,
                "entity": entity,
                "record_id": record_id,
                "organisation_id": device.organisation_id,
                "base_cursor": base_cursor,
                "pending": pending,
            }
            for entity, record_id, base_cursor in bases
        ],
    )


async def _store_line_ids(
    session: AsyncSession, organisation_id: uuid.UUID, invoice_id: str, ids: list[str], device_id: uuid.UUID
) -> None:
    """Remembers the invoice's line ids by position; lines no longer on it keep a NULL position.

    A line new to the invoice (or back on it) records the invoice's feed version and this device.
    """
    version = await session.scalar(
        select(SyncRecord.version).where(
            SyncRecord.organisation_id == organisation_id,
            SyncRecord.entity == "invoice",
            SyncRecord.entity_id == invoice_id,
        )
    )
    await session.execute(
        update(WatermelonInvoiceLine)
        .where(
            WatermelonInvoiceLine.organisation_id == organisation_id,
            WatermelonInvoiceLine.invoice_id == invoice_id,
            WatermelonInvoiceLine.line_id.not_in(ids),
        )
        .values(position=None)
    )
    if not ids:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(WatermelonInvoiceLine).values(
        [
            {
                "organisation_id": organisation_id,
                "line_id": line_id,
                "invoice_id": invoice_id,
                "position": position,
                "created_version": version,
                "device_id": device_id,
            }
            for position, line_id in enumerate(ids)
        ]
    )
    rejoined = WatermelonInvoiceLine.position.is_(None)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["organisation_id", "line_id"],
            set_={
                "invoice_id": statement.excluded.invoice_id,
                "position": statement.excluded.position,
                "created_version": case(
                    (rejoined, statement.excluded.created_version),
                    else_=WatermelonInvoiceLine.created_version,
                ),
                "device_id": case(
                    (rejoined, statement.excluded.device_id), else_=WatermelonInvoiceLine.device_id
                ),
            },
        )
    )
