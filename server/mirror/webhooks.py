"""Xero's webhooks: deliveries recorded at once, turned into targeted, coalesced pulls afterwards.

Receiving (``WebhookInbox``). Xero signs the raw body, ``x-xero-signature = base64(HMAC-SHA256(key,
body))``, and wants an answer within 5 s; its intent-to-receive check sends an event-less delivery
once badly signed (the receiver must answer 401) and once well signed (200). A delivery is verified
in constant time and its events are inserted into ``xero_webhook_events`` - that is all the request
does. A retried delivery repeats its events, which the table's unique key drops.

Pulling (``WebhookWorker``). Woken by the inbox (and every ``poll_seconds`` for events another
process recorded), it waits ``coalesce`` seconds so a burst gathers, then takes every unprocessed
event: tenant → the organisations connected to it, category → data type (CONTACT → customers,
INVOICE → invoices, and payments, read incrementally: a payment made or removed in Xero is an
invoice event). One pull per organisation reads the named records with Xero's ``IDs`` filter
(``server.mirror.pull.MAX_IDS`` a call), or incrementally (If-Modified-Since) when a burst named
more than ``TARGETED_AT_MOST``; it runs through ``SyncService`` like every pull - the organisation's
lease, the tenant's rate limiter, the sync log (trigger ``webhook``). The events it took are marked
processed after it (by id); events that arrive while it runs stay unprocessed and wake the worker again, so
one more pull follows (the pending flag). An organisation whose lease another pull holds keeps its
events for the next round. Xero does not promise deliveries: the scheduled pull stays the safety net.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import delete, select, update

from server.core.data_types import DataType
from server.db.chunks import chunks
from server.db.database import Database
from server.db.mirror_models import XeroConnection, XeroWebhookEvent
from server.db.types import utcnow
from server.db.upserts import insert
from server.mirror.pull import MAX_IDS
from server.mirror.service import SyncService
from server.xero.errors import NeedsReconnect
from server.xero_link.tokens import CONNECTED

log = logging.getLogger("ledgersync.webhooks")

SIGNATURE_HEADER = "x-xero-signature"
CATEGORY_TYPES: dict[str, DataType] = {"CONTACT": "customers", "INVOICE": "invoices"}
# A burst naming more records than this is read incrementally: IDs reads cost a call per MAX_IDS.
TARGETED_AT_MOST = 2 * MAX_IDS
# Events are kept this long after they were pulled, so a late retry of their delivery stays a no-op.
KEEP_PROCESSED = timedelta(days=2)
_TAKE_AT_MOST = 10_000  # events per round; the rest wait for the next


class _Event(msgspec.Struct, rename="camel"):
    resource_id: str
    tenant_id: str
    event_category: str
    event_type: str
    event_date_utc: str
    tenant_type: str = "ORGANISATION"


class _Delivery(msgspec.Struct, rename="camel"):
    events: list[_Event] = []
    first_event_sequence: int | None = None
    last_event_sequence: int | None = None


_decode_delivery = msgspec.json.Decoder(_Delivery).decode


def signature_of(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _event_date(text: str) -> datetime:
    # Xero writes "2017-06-21T01:15:39.902" (UTC, no offset).
    parsed = datetime.fromisoformat(text.rstrip("Z"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class WebhookInbox:
    """Verifies and records deliveries; ``on_recorded`` (the worker's ``wake``) runs after the commit."""

    def __init__(self, database: Database, key: str, on_recorded: Callable[[], None]) -> None:
        self._db = database
        self._key = key
        self._on_recorded = on_recorded

    @property
    def configured(self) -> bool:
        return bool(self._key)

    def signed(self, body: bytes, signature: str | None) -> bool:
        if not self._key or not signature:
            return False  # no key: nothing can be verified, so nothing is taken
        return hmac.compare_digest(signature_of(self._key, body).encode(), signature.strip().encode())

    async def receive(self, body: bytes, signature: str | None) -> bool:
        """Records a well-signed delivery's events; False (record nothing) for a bad signature."""
        if not self.signed(body, signature):
            return False
        try:
            delivery = _decode_delivery(body)
        except msgspec.DecodeError:
            # Signed with our key yet not Xero's shape: nothing to record, and nothing Xero could fix.
            log.warning("webhook delivery not understood", extra={"bytes": len(body)})
            return True
        now = utcnow()
        rows: list[dict[str, Any]] = []
        for item in delivery.events:
            if item.tenant_type != "ORGANISATION" or item.event_category not in CATEGORY_TYPES:
                continue
            try:
                at = _event_date(item.event_date_utc)
            except ValueError:
                at = now
            rows.append(
                {
                    "tenant_id": item.tenant_id.lower()[:64],
                    "category": item.event_category,
                    "resource_id": item.resource_id.lower()[:64],
                    "event_type": item.event_type[:16],
                    "event_date": at,
                    "received_at": now,
                }
            )
        if rows:
            async with self._db.transaction() as session:
                await session.execute(insert(session, XeroWebhookEvent).on_conflict_do_nothing(), rows)
            self._on_recorded()
        return True


@dataclass
class _Batch:
    """A tenant's unprocessed events (their row ids) and the records they name, by data type."""

    events: list[int] = field(default_factory=list)
    ids: dict[DataType, set[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class RoundResult:
    pulls: list[uuid.UUID]  # sync-log runs started
    deferred: int  # organisations whose lease another pull held: their events wait


class WebhookWorker:
    def __init__(
        self,
        database: Database,
        sync: SyncService,
        coalesce_seconds: float = 0.5,
        poll_seconds: float = 30.0,
        retry_seconds: float = 1.0,
    ) -> None:
        self._db = database
        self._sync = sync
        self.coalesce_seconds = coalesce_seconds
        self.poll_seconds = poll_seconds
        self.retry_seconds = retry_seconds
        self._pending = asyncio.Event()  # set by wake(): events arrived (maybe during a pull)
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._pending.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        self._pending.set()  # events left by a process that stopped before pulling them
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._pending.wait(), timeout=self.poll_seconds)
            # Gather the burst: every event of the window goes into the one pull below.
            await asyncio.sleep(self.coalesce_seconds)
            self._pending.clear()
            try:
                result = await self.run_once()
            except Exception:
                log.exception("webhook round failed")
                result = RoundResult([], 1)
            if result.deferred:
                await asyncio.sleep(self.retry_seconds)
                self._pending.set()

    async def run_once(self) -> RoundResult:
        """Pulls what the unprocessed events name, one pull per organisation."""
        batches = await self._take()
        pulls: list[uuid.UUID] = []
        deferred = 0
        for tenant_id, batch in batches.items():
            organisations = await self._organisations_of(tenant_id)
            results = await asyncio.gather(*(self._pull(org, batch) for org in organisations))
            pulls.extend(run for run in results if isinstance(run, uuid.UUID))
            if any(run is False for run in results):
                deferred += 1
                continue  # kept: pulled again (all organisations: harmless) in the next round
            await self._processed(batch.events)
        await self._forget_old()
        return RoundResult(pulls, deferred)

    async def _take(self) -> dict[str, _Batch]:
        async with self._db.reads() as session:
            rows = await session.execute(
                select(
                    XeroWebhookEvent.id,
                    XeroWebhookEvent.tenant_id,
                    XeroWebhookEvent.category,
                    XeroWebhookEvent.resource_id,
                )
                .where(XeroWebhookEvent.processed_at.is_(None))
                .order_by(XeroWebhookEvent.id)
                .limit(_TAKE_AT_MOST)
            )
            batches: dict[str, _Batch] = {}
            for event_id, tenant_id, category, resource_id in rows:
                batch = batches.setdefault(tenant_id, _Batch())
                batch.events.append(event_id)
                batch.ids.setdefault(CATEGORY_TYPES[category], set()).add(resource_id)
            return batches

    async def _organisations_of(self, tenant_id: str) -> list[uuid.UUID]:
        async with self._db.reads() as session:
            found = await session.scalars(
                select(XeroConnection.organisation_id).where(
                    XeroConnection.tenant_id == tenant_id, XeroConnection.status == CONNECTED
                )
            )
            return list(found)

    async def _pull(self, organisation_id: uuid.UUID, batch: _Batch) -> uuid.UUID | bool:
        """The run id; True: nothing to pull (paused); False: another pull holds the lease."""
        types = [data_type for data_type in CATEGORY_TYPES.values() if data_type in batch.ids]
        if "invoices" in types:
            # Xero has no payment webhook: a payment made or deleted is an INVOICE event. Its payment
            # records come with the invoice (an incremental read, no call without phone invoices).
            types.append("payments")
        targets = {
            data_type: sorted(ids) for data_type, ids in batch.ids.items() if len(ids) <= TARGETED_AT_MOST
        }
        try:
            started = await self._sync.start(organisation_id, types, "webhook", targets)
        except NeedsReconnect:
            return True  # paused until the admin reconnects; that pull reads everything since
        if started is None:
            return False
        await self._sync.execute(started)
        return started.run_id

    async def _processed(self, event_ids: list[int]) -> None:
        # By the ids taken, not "up to the last": on PostgreSQL a lower id may commit later.
        now = utcnow()
        async with self._db.transaction() as session:
            for chunk in chunks(event_ids):
                await session.execute(
                    update(XeroWebhookEvent).where(XeroWebhookEvent.id.in_(chunk)).values(processed_at=now)
                )

    async def _forget_old(self) -> None:
        async with self._db.transaction() as session:
            await session.execute(
                delete(XeroWebhookEvent).where(XeroWebhookEvent.processed_at < utcnow() - KEEP_PROCESSED)
            )
