"""WatermelonDB's ``synchronize()`` served over ledgersync's own change feed and push.

Pull reads the feed (``sync_records``) through the native pull's reader (``feed.FeedRead``), in
one snapshot, and reshapes each record into rows of the app's tables (``server.watermelon.rows``).
The timestamp is the feed cursor plus one. A record the client has never seen (created after its
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
  ``server.core.rejections``; native phones skip entities they do not know).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import msgspec
from sqlalchemy import case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import feed
from server.core.current import CurrentRecords, current_records
from server.core.errors import Conflict, InvalidInput
from server.core.feed import Change
from server.core.principals import DevicePrincipal
from server.core.push import PushService
from server.core.rejections import REJECTION, RejectionNote, note_key
from server.core.states import DEAD_STATES, UploadState
from server.db.chunks import chunks
from server.db.database import Database
from server.db.sync_models import Upload
from server.db.upserts import insert
from server.db.watermelon_models import WatermelonInvoiceLine, WatermelonPull, WatermelonRecordBase
from server.kinds import KINDS
from server.kinds.base import Unit
from server.watermelon import rows as watermelon_rows
from server.watermelon.rows import Unusable, line_rows, record_row
from sync_protocol.entities import Entity, Invoice, Payment, decode_entity
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import (
    AnyMutation,
    UpsertInvoice,
)
from sync_protocol.messages import PushResponse as NativePushResponse
from sync_protocol.watermelon import (
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


E = TypeVar("E", bound=Entity)


# The tables whose edits are judged against the record the app edited (their kinds' ``with_base``).
_EDITS_WITH_BASES = frozenset({"customers", "invoices"})


class PushConflict(Conflict):
    code = ErrorCode.PUSH_CONFLICT


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
    for chunk in chunks(ids):
        rows.extend((await session.execute(query(chunk))).all())
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
                Upload.state.not_in(DEAD_STATES),
            )
            .order_by(Upload.id)
        ),
        session,
    )
    latest = {record_id: (kind, state) for record_id, kind, state in rows}
    return {
        record_id
        for record_id, (kind, state) in latest.items()
        if kind in ("void_invoice", "delete_payment") and state == UploadState.FAILED
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
    """Ids an app may hold for lines an invoice no longer has under those ids.

    Lines no app pushed are named by position (``line_id``); when an edit (from a native phone)
    shortens the invoice, the ids of the positions it lost are deleted. So is a position's id once
    an app put a line of its own there, if the invoice had that position before any app pushed it
    (the app deleted the line and added another). How many lines the invoice had, and when, is read
    from its uploads: native ones name no lines, WatermelonDB pushes (``wm-…``) do.
    """
    rows = await _in_chunks(
        list(invoices),
        lambda chunk: select(Upload.id, Upload.record_id, Upload.mutation_id, Upload.request).where(
            Upload.organisation_id == organisation_id,
            Upload.kind == "upsert_invoice",
            Upload.record_id.in_(chunk),
        ),
        session,
    )
    first_push = {
        record_id: upload_id
        for upload_id, record_id, mutation_id, _ in sorted(rows, reverse=True)
        if mutation_id.startswith("wm-")
    }
    most: dict[str, int] = {}  # lines any native upload had
    before_apps: dict[str, int] = {}  # lines native uploads had before the first app push
    for upload_id, record_id, mutation_id, request in rows:
        if mutation_id.startswith("wm-"):
            continue
        mutation = _mutation_decoder.decode(request)
        if isinstance(mutation, UpsertInvoice):
            count = len(mutation.invoice.lines)
            most[record_id] = max(most.get(record_id, 0), count)
            if upload_id < first_push.get(record_id, upload_id + 1):
                before_apps[record_id] = max(before_apps.get(record_id, 0), count)
    gone: dict[str, list[str]] = {}
    for invoice_id, invoice in invoices.items():
        pushed = _ids_by_position(known.get(invoice_id, []))
        positional = [(p, watermelon_rows.line_id(invoice_id, p)) for p in range(most.get(invoice_id, 0))]
        ids = [
            line_id
            for p, line_id in positional
            if (p >= len(invoice.lines) and p not in pushed)
            or (p < before_apps.get(invoice_id, 0) and pushed.get(p, line_id) != line_id)
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
            replacement = cursor != 0 and (migrated or not feed.servable(cursor, latest, horizon))
            after = 0 if replacement else cursor
            # The feed as the native pull reads it (one page: everything after the cursor).
            page = feed.rows_after_with_created(session, org, after, latest)
            rows: list[tuple[str, str, int, int, bytes | None]] = [
                (entity, entity_id, version, created_version, payload)
                async for partition in page.partitions()
                for entity, entity_id, version, payload, created_version in partition
            ]
            notes = _notes_of(device, rows)
            # A deletion this device pushed and the server refused: the app keeps the record marked
            # as deleted (rejected ids) until it gets it back, as ``created``.
            restore = {key for key, (note, version) in notes.items() if note.deleted and version > cursor}
            # Lines it deleted in a refused invoice edit: their invoice is pulled, those lines in ``created``.
            restored_lines = {
                line_id
                for note, version in notes.values()
                if version > cursor
                for line_id in note.deleted_lines
            }
            carrying = {
                key for key, (note, version) in notes.items() if note.deleted_lines and version > cursor
            }
            seen = {(TABLE_OF_ENTITY.get(r[0]), r[1]) for r in rows}
            # A rejection note's record too: the app gets it whole, or deleted if the server voided it.
            noted = {key for key in notes if key[0] in TABLE_BY_NAME}
            missing = [
                (TABLE_BY_NAME[t].entity, i) for t, i in restore | carrying | noted if (t, i) not in seen
            ]
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
                        # Its lines, and those an edit elsewhere took off it since the app's last pull.
                        refused = notes.get((table, entity_id))
                        gone = [
                            *_line_ids(record, known),
                            *shorter.get(entity_id, []),
                            *(refused[0].lines if refused else []),
                        ]
                        changes["invoice_lines"].deleted.extend(dict.fromkeys(gone))
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
                    new = created or line["id"] in new_lines or line["id"] in restored_lines
                    (target.created if new else target.updated).append(line)
                if after != 0:
                    # Lines the app deleted, and those past the invoice's end (an edit elsewhere, e.g.
                    # a native phone's, shortened it).
                    count = len(record.lines)
                    target.deleted.extend(i for i, at in known if at is None or at >= count)
                    target.deleted.extend(shorter.get(entity_id, []))
        for (table, record_id), (note, _) in notes.items():
            columns = _rejection_columns(note, note.mutation_id)
            if (table, record_id) in placed:
                placed[(table, record_id)].update(columns)
            elif cursor != 0 and not note.deleted and record_id not in changes[table].deleted:
                # Only the rejection changed: the app's own unsynced row takes these columns.
                changes[table].updated.append({"id": record_id, **columns})
        pulled_to = page.cursor
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
            statement = insert(session, WatermelonPull).values(
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


class _KindView:
    """A push as the kinds' WatermelonDB hooks read it (``server.kinds.base.WatermelonPush``)."""

    def __init__(
        self, session: AsyncSession, organisation_id: uuid.UUID, changes: Changes, state: CurrentRecords
    ) -> None:
        self._session = session
        self._org = organisation_id
        self._changes = changes
        self._state = state
        self._line_invoices: dict[str, str | None] = {}  # None: a line id the server never had

    def table(self, name: str) -> TableChanges:
        return self._changes.get(name) or TableChanges()

    async def record(self, cls: type[E], entity: str, record_id: str) -> E | None:
        return await self._state.record(cls, record_id)

    async def line_invoices(self, line_ids: Sequence[str]) -> dict[str, str]:
        wanted = [i for i in dict.fromkeys(line_ids) if i not in self._line_invoices]
        self._line_invoices.update(dict.fromkeys(wanted))
        self._line_invoices.update(
            await _in_chunks(
                wanted,
                lambda chunk: select(WatermelonInvoiceLine.line_id, WatermelonInvoiceLine.invoice_id).where(
                    WatermelonInvoiceLine.organisation_id == self._org,
                    WatermelonInvoiceLine.line_id.in_(chunk),
                ),
                self._session,
            )
        )
        return {i: found for i in line_ids if (found := self._line_invoices.get(i)) is not None}

    async def line_positions(self, invoice_ids: Sequence[str]) -> dict[str, list[tuple[str, int | None]]]:
        return await _line_positions(self._session, self._org, invoice_ids)


class _PushPlan:
    """A WatermelonDB push as native mutations (``BatchSteps`` of ``PushService.push_with``)."""

    def __init__(self, device: DevicePrincipal, cursor: int, changes: Changes) -> None:
        self._device = device
        self._org = device.organisation_id
        self._cursor = cursor
        self._changes = changes
        self._units: list[Unit] = []
        self._read_only: list[Rejection] = []

    async def before(self, session: AsyncSession) -> list[AnyMutation]:
        self._units, self._read_only = [], []
        state = current_records(session, self._org)  # the feed's rows, under the organisation's lock
        for name, changes in self._changes.items():
            table = TABLE_BY_NAME.get(name)
            if table is not None and table.read_only:
                ids = [raw["id"] for raw in changes.created + changes.updated] + changes.deleted
                self._read_only += [
                    Rejection(
                        table=name,
                        id=i,
                        code=ErrorCode.READ_ONLY,
                        message=f"{name} come from Xero: read only",
                    )
                    for i in ids
                ]
            # Tables ledgersync does not know are the app's own (local-only): not ours to sync.
        # Each kind's rows in the order dependencies need: creates and edits in registry order
        # (customers, invoices, payments), then deletions in reverse (payments before invoices).
        push = _KindView(session, self._org, self._changes, state)
        for kind in KINDS:
            self._units += await kind.watermelon_changes(push)
        for kind in reversed(list(KINDS)):
            self._units += await kind.watermelon_deletions(push)
        await self._bases(session, state)
        mutations = []
        for unit in self._units:
            if unit.mutation is not None:
                await self._settle(unit, state)
                if unit.mutation is not None:
                    mutations.append(unit.mutation)
        return mutations

    def edits(self) -> list[Unit]:
        """The pushed edits of records the server has (with the cursor they started from)."""
        return [unit for unit in self._units if unit.base_cursor is not None]

    async def _bases(self, session: AsyncSession, state: CurrentRecords) -> None:
        """Judges each edit against the record the app edited, not the one it pulled last.

        WatermelonDB's pull keeps the app's changed columns over what it brings, so a row pushed with
        ``last_pulled_at`` may hold an edit made before that pull, of a field the pull changed (a Xero
        user's edit the mirror brought). The edit started from the records as of the device's previous
        cursor (``WatermelonPull``), or as of an earlier push of the record: one the server did not take,
        or one it applied, later than that cursor (``WatermelonRecordBase``). Where that record differs
        from the server's, it is the edit's ``base``, as a native phone sends it (the kind's
        ``with_base``): a field both changed is a conflict, decided by the organisation's
        ``conflict_policy`` and recorded when the edit is forwarded.
        """
        edited = [
            unit
            for unit in self._units
            if unit.mutation is not None
            and KINDS.of(unit.mutation).edits_have_bases
            and not unit.deletion
            and unit.rejection is None
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
            unit.mutation = KINDS.of(mutation).with_base(mutation, base, unit.named)

    async def _settle(self, unit: Unit, state: CurrentRecords) -> None:
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
        versions += [
            await state.version(entity, record_id)
            for entity, record_id in KINDS.of(mutation).watermelon_versioned(mutation)
        ]
        digest = hashlib.sha256(msgspec.json.encode([versions, mutation])).hexdigest()
        unit.mutation = msgspec.structs.replace(mutation, mutation_id=f"wm-{digest[:48]}")

    async def after(self, session: AsyncSession, response: NativePushResponse) -> None:
        results = iter(response.results)
        notes: list[Change] = []
        refused: list[Unit] = []
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
                    deleted_lines=unit.removed_lines,
                    lines=[i for t, i in unit.rows if t == "invoice_lines" and i not in unit.removed_lines],
                )
                notes.append(Change(REJECTION, key, msgspec.json.encode(note)))
        await feed.publish(session, self._org, notes)
        await _keep_pending_bases(session, self._device, refused)
        # Applied (or the server had it already): the device's copy is the record as it is now.
        taken = [
            unit
            for unit in self._units
            if unit.table in _EDITS_WITH_BASES
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


def _rejection_of(unit: Unit) -> Rejection | None:
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


def _already(mutation: AnyMutation, payload: bytes) -> bool:
    """Whether the server's record is already what the mutation asks for."""
    try:
        return KINDS.of(mutation).same_as_server(mutation, payload)
    except Unusable:  # the server's record is not one a phone could push (e.g. from Xero): not the same
        return False


async def _keep_pending_bases(session: AsyncSession, device: DevicePrincipal, units: Sequence[Unit]) -> None:
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


async def _note_applied(session: AsyncSession, device: DevicePrincipal, units: Sequence[Unit]) -> None:
    """Remembers the feed version of each record this push applied: the device's copy is as of it."""
    records = current_records(session, device.organisation_id)
    keys = [(TABLE_BY_NAME[unit.table].entity, unit.record_id) for unit in units]
    await records.load(keys)
    bases = []
    for entity, record_id in keys:
        found = await records.row(entity, record_id)
        if found is not None:
            bases.append((entity, record_id, found[0]))
    await _put_bases(session, device, bases, pending=False)


async def _put_bases(
    session: AsyncSession, device: DevicePrincipal, bases: Sequence[tuple[str, str, int]], pending: bool
) -> None:
    if not bases:
        return
    statement = insert(session, WatermelonRecordBase)
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
    row = await current_records(session, organisation_id).row("invoice", invoice_id)
    version = row[0] if row else None
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
    statement = insert(session, WatermelonInvoiceLine).values(
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
