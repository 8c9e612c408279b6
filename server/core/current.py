"""The current records: each record's feed row as this transaction sees it, read once.

    records = current_records(session, organisation_id)
    await records.load([("invoice", invoice_id), ("customer", customer_id)])   # one query per kind
    invoice = records.get(Invoice, invoice_id)                                  # no query
    version = await records.version("product", product_id)                      # read if not yet

Everything that asks "what does this record look like now" - push validation (``RecordView``),
the fates the forwarder records, its planning, the WatermelonDB push, ``feed.publish`` deciding
what changed - reads through the one :class:`CurrentRecords` of its session and organisation, so
a row read by one of them is not read again by the next in the same transaction.

The cache holds rows as stored (version, payload bytes; a tombstone's payload is None), never
decoded records: decoded records are mutable structs their readers change copies of. It is only
as good as what it mirrors, so:

- it lives as long as the transaction: it is dropped when the session's transaction ends;
- ``feed.publish`` writes the rows it publishes into it (and a purge of tombstones empties it);
- the first time the transaction takes the organisation's feed lock (``lock_organisation``, or
  publishing), rows read before are forgotten: on PostgreSQL a writer that held the lock may have
  committed since they were read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from server.db.chunks import chunks
from server.db.models import SyncRecord
from sync_protocol.entities import ENTITY_NAME, Entity

E = TypeVar("E", bound=Entity)
Key = tuple[str, str]  # (entity, record id)
Stored = tuple[int, bytes | None]  # (version, payload); payload None: a tombstone

_KINDS = tuple(ENTITY_NAME.values())
_TYPES: dict[str, type[Entity]] = {name: cls for cls, name in ENTITY_NAME.items()}
_DECODERS: dict[type[Entity], msgspec.json.Decoder[Any]] = {
    cls: msgspec.json.Decoder(cls) for cls in ENTITY_NAME
}
_INFO_KEY = "ledgersync.current_records"


class CurrentRecords:
    """One organisation's feed rows as this transaction has read (or written) them."""

    def __init__(self, session: AsyncSession, organisation_id: uuid.UUID) -> None:
        self._session = session
        self._org = organisation_id
        self._rows: dict[Key, Stored | None] = {}  # None: no row at all
        self.locked = False  # this transaction holds the organisation's feed lock

    # --- reading ------------------------------------------------------------------------------
    async def load(self, keys: Iterable[Key]) -> None:
        """Reads the rows of ``keys`` not read yet: one query per entity and chunk of ids.

        One entity per query: ``entity = ? AND entity_id IN (...)`` walks the unique index; a
        row-value ``(entity, entity_id) IN (...)`` made SQLite scan the organisation's every row.
        """
        by_entity: dict[str, list[str]] = {}
        for key in dict.fromkeys(keys):
            if key not in self._rows:
                by_entity.setdefault(key[0], []).append(key[1])
        for entity, ids in by_entity.items():
            for chunk in chunks(ids):
                result = await self._session.execute(
                    select(SyncRecord.entity_id, SyncRecord.version, SyncRecord.payload).where(
                        SyncRecord.organisation_id == self._org,
                        SyncRecord.entity == entity,
                        SyncRecord.entity_id.in_(chunk),
                    )
                )
                for record_id in chunk:
                    self._rows[(entity, record_id)] = None
                for record_id, version, payload in result:
                    self._rows[(entity, record_id)] = (version, payload)

    async def load_ids(self, record_ids: Iterable[str]) -> None:
        """Reads ``record_ids`` as records of every kind (ids are shared across kinds), in one
        query per chunk: what a push refers to is known by id, not always by kind."""
        wanted = [i for i in dict.fromkeys(record_ids) if any((k, i) not in self._rows for k in _KINDS)]
        for chunk in chunks(wanted):
            result = await self._session.execute(
                select(SyncRecord.entity, SyncRecord.entity_id, SyncRecord.version, SyncRecord.payload).where(
                    SyncRecord.organisation_id == self._org,
                    # Naming every kind lets the (organisation, entity, id) index serve the lookup.
                    SyncRecord.entity.in_(_KINDS),
                    SyncRecord.entity_id.in_(chunk),
                )
            )
            for record_id in chunk:
                for kind in _KINDS:
                    self._rows.setdefault((kind, record_id), None)
            for entity, record_id, version, payload in result:
                self._rows[(entity, record_id)] = (version, payload)

    async def row(self, entity: str, record_id: str) -> Stored | None:
        """(version, payload) of the record's feed row, or None when it has none."""
        key = (entity, record_id)
        if key not in self._rows:
            await self.load([key])
        return self._rows[key]

    async def version(self, entity: str, record_id: str | None) -> int:
        """The record's feed version; 0 when it has no row (or no id is given)."""
        found = await self.row(entity, record_id) if record_id else None
        return found[0] if found else 0

    async def record(self, cls: type[E], record_id: str) -> E | None:
        """The live record of that kind, decoded (a fresh copy each call), or None."""
        await self.row(ENTITY_NAME[cls], record_id)
        return self.get(cls, record_id)

    async def entity(self, entity: str, record_id: str) -> Entity | None:
        """``record`` by entity name; None for a name that is no kind of record as well."""
        cls = _TYPES.get(entity)
        return await self.record(cls, record_id) if cls is not None else None

    async def payloads(self, keys: Iterable[Key]) -> dict[Key, bytes | None]:
        """The payloads of the rows of ``keys`` (None: a tombstone); keys with no row are absent."""
        keys = list(keys)
        await self.load(keys)
        found: dict[Key, bytes | None] = {}
        for key in keys:
            row = self._rows[key]
            if row is not None:
                found[key] = row[1]
        return found

    # --- what was read already (no query) -----------------------------------------------------
    def get(self, cls: type[E], record_id: str) -> E | None:
        """The live record of a loaded key, decoded (a fresh copy each call), or None.

        Raises ``KeyError`` for a key never loaded: a caller that plans without queries
        (``load`` first) must not mistake "not read" for "no such record".
        """
        row = self._rows[(ENTITY_NAME[cls], record_id)]
        if row is None or row[1] is None:
            return None
        decoded: E = _DECODERS[cls].decode(row[1])
        return decoded

    def payload(self, entity: str, record_id: str) -> bytes | None:
        """The payload of a loaded key (None: a tombstone or no row). ``KeyError`` if not loaded."""
        row = self._rows[(entity, record_id)]
        return row[1] if row is not None else None

    def is_live(self, entity: str, record_id: str) -> bool:
        """Whether a loaded key has a record that is not deleted. ``KeyError`` if not loaded."""
        row = self._rows[(entity, record_id)]
        return row is not None and row[1] is not None

    def loaded(self, entity: str, record_id: str) -> bool:
        return (entity, record_id) in self._rows

    # --- keeping it true ----------------------------------------------------------------------
    def published(self, rows: Iterable[tuple[str, str, int, bytes | None]]) -> None:
        """Rows this transaction just wrote to the feed: (entity, id, version, payload)."""
        for entity, record_id, version, payload in rows:
            self._rows[(entity, record_id)] = (version, payload)

    def took_lock(self) -> None:
        """The transaction holds the organisation's feed lock now (``lock_organisation``,
        publishing). The first time, what was read before is forgotten: it may be stale."""
        if not self.locked:
            self.locked = True
            self._rows.clear()

    def forget(self) -> None:
        self._rows.clear()


def current_records(session: AsyncSession, organisation_id: uuid.UUID) -> CurrentRecords:
    """The one reader of the organisation's current records in this session's transaction."""
    held: dict[uuid.UUID, CurrentRecords] = session.info.setdefault(_INFO_KEY, {})
    records = held.get(organisation_id)
    if records is None:
        records = held[organisation_id] = CurrentRecords(session, organisation_id)
    return records


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, _transaction: SessionTransaction) -> None:
    # A savepoint's end drops the cache too: what it read or wrote may be rolled back with it.
    if _INFO_KEY in session.info:
        del session.info[_INFO_KEY]
