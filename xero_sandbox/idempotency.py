"""Idempotency-Key: same key + same request replays the first response; a different request is a 400.

Keys are scoped per tenant and forgotten after ``idempotency_window_seconds`` of sandbox time; a replay
after that creates again, as it would in Xero once the key has expired.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import msgspec

from .clock import Clock
from .errors import BadRequest
from .wire import WireError, decode_json

MAX_KEY_LENGTH = 128


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status: int
    body: bytes
    stored_at: float


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """Requests are the same when method, path, query and JSON content match (key order ignored)."""
    try:
        canonical = msgspec.json.encode(decode_json(body), order="sorted") if body.strip() else b""
    except WireError:
        canonical = body
    digest = hashlib.sha256(canonical).hexdigest()
    return f"{method.upper()} {path.lower()}?{query}#{digest}"


class IdempotencyStore:
    def __init__(self, clock: Clock, window_seconds: float) -> None:
        self.clock = clock
        self.window_seconds = window_seconds
        self._stored: dict[tuple[str, str], StoredResponse] = {}

    def reset(self) -> None:
        self._stored.clear()

    @staticmethod
    def check_key(key: str) -> None:
        if len(key) > MAX_KEY_LENGTH:
            raise BadRequest(f"Idempotency-Key must not be longer than {MAX_KEY_LENGTH} characters.")

    def lookup(self, tenant_id: str, key: str, print_: str) -> StoredResponse | None:
        stored = self._stored.get((tenant_id, key))
        if stored is None:
            return None
        if self.clock.seconds() - stored.stored_at > self.window_seconds:
            del self._stored[(tenant_id, key)]
            return None
        if stored.fingerprint != print_:
            raise BadRequest("The Idempotency-Key has already been used for a different request.")
        return stored

    def save(self, tenant_id: str, key: str, print_: str, status: int, body: bytes) -> None:
        self._stored[(tenant_id, key)] = StoredResponse(print_, status, body, self.clock.seconds())
