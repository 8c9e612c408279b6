"""The phone's local database: server records by (entity, id), the cursor, the outbox, and the
pairing (server URL and device token), so a restarted app carries on where it stopped."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import msgspec

from sync_protocol.messages import AnyMutation, ChangeOut, MutationResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (entity TEXT NOT NULL, id TEXT NOT NULL, payload BLOB NOT NULL,
                                    PRIMARY KEY (entity, id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, mutation_id TEXT UNIQUE NOT NULL,
                                   body BLOB NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
                                   result BLOB);
"""

_mutation = msgspec.json.Decoder(AnyMutation)
_result = msgspec.json.Decoder(MutationResult)


class LocalStore:
    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # --- the mirror of the server ---------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- the pairing: what a restarted app needs to talk to its server again ---------------

    @property
    def server_url(self) -> str | None:
        return self._meta("server_url")

    @property
    def token(self) -> str | None:
        return self._meta("token")

    def set_pairing(self, server_url: str, token: str, device_id: str, staff_name: str) -> None:
        with self._db:
            for key, value in (
                ("server_url", server_url),
                ("token", token),
                ("device_id", device_id),
                ("staff_name", staff_name),
            ):
                self._set_meta(key, value)

    def pairing(self) -> dict[str, str]:
        """The server URL, device id and staff name this phone was paired with (never the token)."""
        keys = ("server_url", "device_id", "staff_name")
        return {key: value for key in keys if (value := self._meta(key)) is not None}

    @property
    def cursor(self) -> int:
        return int(self._meta("cursor") or 0)

    @property
    def etag(self) -> str | None:
        return self._meta("etag")

    def set_etag(self, etag: str) -> None:
        with self._db:
            self._set_meta("etag", etag)

    def apply(self, changes: Iterable[ChangeOut], cursor: int) -> None:
        """Applies one pulled page and moves the cursor, atomically: a crash never skips a page."""
        with self._db:
            for change in changes:
                if change.deleted:
                    self._db.execute(
                        "DELETE FROM records WHERE entity = ? AND id = ?", (change.entity, change.id)
                    )
                else:
                    self._db.execute(
                        "INSERT OR REPLACE INTO records (entity, id, payload) VALUES (?, ?, ?)",
                        (change.entity, change.id, bytes(change.record)),
                    )
            self._set_meta("cursor", str(cursor))

    def reset_mirror(self) -> None:
        """Forgets the server's records and the cursor (before a resync); the outbox stays."""
        with self._db:
            self._db.execute("DELETE FROM records")
            self._db.execute("DELETE FROM meta WHERE key IN ('cursor', 'etag')")

    def records(self, entity: str | None = None) -> dict[tuple[str, str], bytes]:
        query = "SELECT entity, id, payload FROM records"
        args: tuple[str, ...] = ()
        if entity is not None:
            query, args = query + " WHERE entity = ?", (entity,)
        return {(e, i): bytes(p) for e, i, p in self._db.execute(query, args)}

    def record(self, entity: str, record_id: str) -> bytes | None:
        row = self._db.execute(
            "SELECT payload FROM records WHERE entity = ? AND id = ?", (entity, record_id)
        ).fetchone()
        return bytes(row[0]) if row else None

    # --- the outbox -----------------------------------------------------------------------

    def enqueue(self, mutation: AnyMutation) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO outbox (mutation_id, body) VALUES (?, ?)",
                (mutation.mutation_id, msgspec.json.encode(mutation)),
            )

    def pending(self, limit: int) -> list[AnyMutation]:
        rows = self._db.execute(
            "SELECT body FROM outbox WHERE status = 'pending' ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [_mutation.decode(row[0]) for row in rows]

    def settle(self, results: Iterable[MutationResult]) -> None:
        with self._db:
            for result in results:
                self._db.execute(
                    "UPDATE outbox SET status = ?, result = ? WHERE mutation_id = ?",
                    (result.status, msgspec.json.encode(result), result.mutation_id),
                )

    def outbox(self) -> list[tuple[str, str, MutationResult | None]]:
        """Every queued mutation in order: its id, ``pending`` or the push's status, and its result."""
        rows = self._db.execute("SELECT mutation_id, status, result FROM outbox ORDER BY seq")
        return [(m, status, _result.decode(r) if r is not None else None) for m, status, r in rows]

    def results(self) -> dict[str, MutationResult]:
        rows = self._db.execute("SELECT mutation_id, result FROM outbox WHERE result IS NOT NULL")
        return {mutation_id: _result.decode(result) for mutation_id, result in rows}

    def pending_count(self) -> int:
        row = self._db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()
        return int(row[0])
