"""Pulling each data type from Xero into the mirror, with as few calls as Xero allows.

- Tax rates (+ the organisation's settings): Xero offers neither If-Modified-Since nor paging, so a
  full read, diffed against the mirror; rates that vanished become tombstones.
- Customers (contacts): If-Modified-Since from the high-water mark of UpdatedDateUTC minus a safety
  overlap (Xero's timestamps are not committed in order), ``includeArchived=true`` so archiving is
  seen, paged 1000 at a time. Each page is stored in its own transaction; the high-water mark moves
  only after the last page, so a pull cut short repeats its pages next time (the diff makes that
  harmless: nothing lost, nothing doubled).
- Products (items): If-Modified-Since for changes; deleted items just vanish from Xero, so a full
  read (same one call: items are unpaged) finds them - on manual syncs, the first pull, and every
  ``FULL_PULL_EVERY`` on schedule.
- Accounts: a full read (one call, a few dozen rows); the mirror keeps all, phones get active bank
  and revenue accounts.
- Tracking categories (with their options) and branding themes: Xero offers neither
  If-Modified-Since nor paging, and they are a handful of rows: a full read each pull, one call
  each (``includeArchived=true``, so archiving is seen). Options become records of their own.
- Invoices (only those phones made), with their lines: If-Modified-Since from their high-water mark (the first
  forwarded invoice's upload at first), paged; no call while phones made none.
- Payments (only those on the invoices phones made): ``GET /Payments`` with If-Modified-Since,
  paged ``pageSize=1000``, ``PaymentType=="ACCRECPAYMENT"``; no call while phones made no invoice.
  Xero keeps a deleted payment (``DELETED``, its UpdatedDateUTC moved), so deletions, and the
  payments removed before a void, are seen like any change. A payment a phone made is stored under
  the phone's record (its upload has the PaymentID), never as a second one; each page's invoices
  then get their amounts from the payment records (``facts.settle_paid_amounts``), in the same
  transaction.
- Targeted (a webhook named the records): customers and invoices by Xero's ``IDs`` filter, at most
  ``MAX_IDS`` a call. Such a read sees only the records named, so it never moves the high-water
  mark: the next incremental pull still starts from where the last one ended.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from server.core import data_types, feed, mirror_store, outbox
from server.core.data_types import DataType
from server.core.facts import ONLINE_STATUSES, settle_paid_amounts
from server.core.mirror_store import Mapped
from server.core.records import default_forwarding, lock_organisation, with_forwarding
from server.db.database import Database
from server.db.forwarding_models import ForwardingSettings
from server.db.mirror_models import MirrorCursor
from server.db.types import utcnow
from server.xero import wire
from server.xero.client import PAGE_SIZE, XeroClient
from server.xero_link import mapping
from server.xero_link.invoice_versions import apply_invoice_versions
from server.xero_link.online import publish_online_invoices
from sync_protocol.entities import OrganisationSettings

OVERLAP = timedelta(minutes=5)
FULL_PULL_EVERY = timedelta(hours=6)
# GUIDs per ``IDs`` query: Xero's gateway answers 404 past 52 (reported, not documented).
MAX_IDS = 50
# The Xero ids a targeted pull reads, by data type (customers, invoices).
Targets = Mapping[DataType, Sequence[str]]


@dataclass
class PullError:
    data_type: str
    message: str
    xero_messages: list[str] = field(default_factory=list)
    record: str | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "data_type": self.data_type,
            "message": self.message,
            "xero_messages": self.xero_messages,
            "record": self.record,
        }


@dataclass
class PullResult:
    counts: mirror_store.Counts = field(default_factory=mirror_store.Counts)
    errors: list[PullError] = field(default_factory=list)


class MirrorPuller:
    """Pulls one organisation's data types with one client; ``keep_alive`` renews the run's lease."""

    def __init__(
        self,
        database: Database,
        organisation_id: uuid.UUID,
        client: XeroClient,
        keep_alive: Callable[[], Awaitable[None]],
        full: bool = False,
        targets: Targets | None = None,
    ) -> None:
        """``targets``: read only these records of their data types (a webhook named them)."""
        self._db = database
        self._org = organisation_id
        self._client = client
        self._keep_alive = keep_alive
        self._full = full
        self._targets = targets or {}
        self.result = PullResult()

    def _id(self, kind: str, xero_id: str, existing: dict[str, Any]) -> str:
        row = existing.get(xero_id)
        if row is not None:
            return str(row.id)
        return str(mirror_store.entity_id_for(self._org, self._client.tenant_id, kind, xero_id))

    async def pull(self, data_type: DataType) -> None:
        await self._keep_alive()
        if data_type == "tax_rates":
            await self._tax_rates()
        elif data_type == "customers":
            await self._customers()
        elif data_type == "products":
            await self._products()
        elif data_type == "invoices":
            await self._invoices()
        elif data_type == "payments":
            await self._payments()
        elif data_type == "tracking_categories":
            await self._tracking_categories()
        elif data_type == "branding_themes":
            await self._branding_themes()
        else:
            await self._accounts()

    # --- full reads ------------------------------------------------------------------------------
    async def _full_read(
        self,
        kind: str,
        fetched: list[Any],
        to_mapped: Callable[[Any, str], Mapped],
        key: Callable[[Any], str] | None = None,
    ) -> datetime | None:
        async with self._db.transaction() as session:
            await lock_organisation(session, self._org)
            existing = await mirror_store.existing_rows(session, self._org, kind, None)
            records = []
            for record in fetched:
                xero_id = (key or _xero_id)(record)
                records.append(to_mapped(record, self._id(kind, xero_id, existing)))
            seen = {r.xero_id for r in records}
            vanished = [row for xero_id, row in existing.items() if xero_id not in seen]
            self.result.counts.add(
                await mirror_store.apply(
                    session, self._org, self._client.tenant_id, kind, records, existing, vanished=vanished
                )
            )
        return _newest(records)

    async def _tax_rates(self) -> None:
        rates = await self._client.get("/TaxRates", wire.TaxRates)
        organisations = await self._client.get("/Organisation", wire.Organisations)
        await self._full_read(data_types.TAX_RATE, rates.tax_rates, mapping.tax_rate_of)
        async with self._db.transaction() as session:
            await lock_organisation(session, self._org)
            existing = await mirror_store.existing_rows(session, self._org, data_types.ORGANISATION, None)
            forwarding = await session.get(ForwardingSettings, self._org) or default_forwarding(self._org)
            records = [
                _with_forwarding(
                    mapping.organisation_of(
                        o, self._id(data_types.ORGANISATION, o.organisation_id, existing)
                    ),
                    forwarding,
                )
                for o in organisations.organisations[:1]
            ]
            counts = await mirror_store.apply(
                session, self._org, self._client.tenant_id, data_types.ORGANISATION, records, existing
            )
            counts.fetched = 0  # settings, not a record an admin counts
            self.result.counts.add(counts)

    async def _accounts(self) -> None:
        accounts = await self._client.get("/Accounts", wire.Accounts)
        await self._full_read(data_types.ACCOUNT, accounts.accounts, mapping.account_of)

    async def _tracking_categories(self) -> None:
        answer = await self._client.get(
            "/TrackingCategories", wire.TrackingCategories, params={"includeArchived": "true"}
        )
        categories = answer.tracking_categories
        await self._full_read(data_types.TRACKING_CATEGORY, categories, mapping.tracking_category_of)
        # Each option knows its category by ledgersync's id, given by the read just done.
        async with self._db.sessions() as session:
            stored = await mirror_store.existing_rows(session, self._org, data_types.TRACKING_CATEGORY, None)
        options = [(category, option) for category in categories for option in category.options]

        def option_of(pair: tuple[wire.TrackingCategory, wire.TrackingOption], entity_id: str) -> Mapped:
            category, option = pair
            row = stored[category.tracking_category_id.lower()]
            return mapping.tracking_option_of(option, entity_id, str(row.id), category.status != "DELETED")

        await self._full_read(
            data_types.TRACKING_OPTION,
            options,
            option_of,
            key=lambda pair: str(pair[1].tracking_option_id).lower(),
        )

    async def _branding_themes(self) -> None:
        answer = await self._client.get("/BrandingThemes", wire.BrandingThemes)
        await self._full_read(data_types.BRANDING_THEME, answer.branding_themes, mapping.branding_theme_of)

    # --- incremental reads -----------------------------------------------------------------------
    async def _cursor(self, kind: str) -> tuple[datetime | None, datetime | None]:
        async with self._db.sessions() as session:
            row = await session.get(MirrorCursor, (self._org, kind))
            return (row.modified_since, row.last_full_at) if row else (None, None)

    async def _save_cursor(
        self, kind: str, modified_since: datetime | None, full_at: datetime | None
    ) -> None:
        async with self._db.transaction() as session:
            row = await session.get(MirrorCursor, (self._org, kind))
            if row is None:
                row = MirrorCursor(organisation_id=self._org, kind=kind)
                session.add(row)
            if modified_since is not None and (
                row.modified_since is None or modified_since > row.modified_since
            ):
                row.modified_since = modified_since
            if full_at is not None:
                row.last_full_at = full_at

    async def _store_page(
        self, kind: str, fetched: list[Any], to_mapped: Callable[[Any, str], Mapped]
    ) -> datetime | None:
        async with self._db.transaction() as session:
            # The feed lock before any mirror row, the order pushes and the forwarder take them in: the
            # forwarder links a customer Xero just created (its ``mirror_records`` row) under that lock,
            # and a page storing the same contact without it first deadlocked with it on PostgreSQL.
            await lock_organisation(session, self._org)
            ids = [_xero_id(record) for record in fetched]
            existing = await mirror_store.existing_rows(session, self._org, kind, ids)
            records = [to_mapped(record, self._id(kind, _xero_id(record), existing)) for record in fetched]
            self.result.counts.add(
                await mirror_store.apply(session, self._org, self._client.tenant_id, kind, records, existing)
            )
        return _newest(records)

    async def _customers(self) -> None:
        if "customers" in self._targets:
            for ids in _id_chunks(self._targets["customers"]):
                await self._keep_alive()
                answer = await self._client.get(
                    "/Contacts", wire.Contacts, params={"IDs": ",".join(ids), "includeArchived": "true"}
                )
                if answer.contacts:
                    await self._store_page(data_types.CUSTOMER, answer.contacts, mapping.customer_of)
            return
        since, _ = await self._cursor(data_types.CUSTOMER)
        modified_since = since - OVERLAP if since is not None else None
        newest: datetime | None = None
        async for answer in self._pages(
            "/Contacts", wire.Contacts, {"includeArchived": "true"}, modified_since, "contacts"
        ):
            if answer.contacts:
                page_newest = await self._store_page(
                    data_types.CUSTOMER, answer.contacts, mapping.customer_of
                )
                newest = _later(newest, page_newest)
        await self._save_cursor(data_types.CUSTOMER, newest, None)

    async def _invoices(self) -> None:
        """The invoices phones uploaded, as Xero has them now: paid, voided or edited in Xero."""
        first = await _forwarded_since(self._db, self._org)
        if first is None:
            return  # nothing forwarded: no call
        if "invoices" in self._targets:
            for ids in _id_chunks(self._targets["invoices"]):
                await self._keep_alive()
                answer = await self._client.get(
                    "/Invoices",
                    wire.Invoices,
                    # Paged, as Xero sends line items only in paged (and single) reads.
                    params={"IDs": ",".join(ids), "where": 'Type=="ACCREC"', "unitdp": "4", "page": "1"},
                )
                await self._apply_invoices(answer.invoices)
            return
        since, _ = await self._cursor(data_types.INVOICE)
        modified_since = (since or first) - OVERLAP
        newest: datetime | None = None
        params = {"where": 'Type=="ACCREC"', "unitdp": "4"}
        async for answer in self._pages("/Invoices", wire.Invoices, params, modified_since, "invoices"):
            await self._apply_invoices(answer.invoices)
            for invoice in answer.invoices:
                newest = _later(newest, mapping.utc(invoice.updated_date_utc))
        await self._save_cursor(data_types.INVOICE, newest, None)

    async def _pages(
        self, path: str, kind: type[Any], params: dict[str, str], modified_since: datetime | None, rows: str
    ) -> AsyncIterator[Any]:
        """Every page of a paged If-Modified-Since read. The last is the one Xero's pagination names
        or, where an answer has none, a short page (``rows``: the envelope's list)."""
        page = 1
        while True:
            await self._keep_alive()
            answer = await self._client.get(
                path,
                kind,
                params={**params, "page": str(page), "pageSize": str(PAGE_SIZE)},
                modified_since=modified_since,
            )
            yield answer
            if answer.pagination is not None:
                last = page >= answer.pagination.page_count
            else:
                last = len(getattr(answer, rows)) < PAGE_SIZE
            if last:
                return
            page += 1

    async def _apply_invoices(self, invoices: list[wire.Invoice]) -> None:
        self.result.counts.fetched += len(invoices)
        self.result.counts.updated += await apply_invoice_versions(self._db, self._org, invoices)
        approved = [i.invoice_id for i in invoices if i.status in ONLINE_STATUSES]
        self.result.counts.updated += await publish_online_invoices(
            self._db, self._org, self._client, approved
        )

    async def _payments(self) -> None:
        """Xero's payments on the invoices phones made: recorded, deleted or reversed in Xero."""
        first = await _forwarded_since(self._db, self._org)
        if first is None:
            return  # no phone invoice in Xero: no payment of ours to see, no call
        since, _ = await self._cursor(data_types.PAYMENT)
        modified_since = (since or first) - OVERLAP
        newest: datetime | None = None
        params = {"where": 'PaymentType=="ACCRECPAYMENT"'}
        async for answer in self._pages("/Payments", wire.Payments, params, modified_since, "payments"):
            await self._store_payments(answer.payments)
            for payment in answer.payments:
                newest = _later(newest, mapping.utc(payment.updated_date_utc))
        await self._save_cursor(data_types.PAYMENT, newest, None)

    async def _store_payments(self, payments: list[wire.Payment]) -> None:
        kind = data_types.PAYMENT
        async with self._db.transaction() as session:
            await lock_organisation(session, self._org)
            invoices = await outbox.forwarded_invoices(session, self._org)
            ours = [p for p in payments if p.invoice is not None and p.invoice.invoice_id.lower() in invoices]
            if not ours:
                return
            ids = [p.payment_id.lower() for p in ours]
            existing = await mirror_store.existing_rows(session, self._org, kind, ids)
            phones = await outbox.forwarded_payments(session, self._org, ids)
            retired: list[feed.Change] = []
            for xero_id, record_id in phones.items():
                row = existing.get(xero_id)
                if row is not None and str(row.id) != record_id:
                    # Pulled before the forwarder had recorded the phone's PaymentID: that copy goes.
                    retired.append(feed.Change(kind, str(row.id), None))
                    await session.delete(row)
                    del existing[xero_id]
            await session.flush()
            await feed.publish(session, self._org, retired)
            records = []
            for payment in ours:
                assert payment.invoice is not None
                xero_id = payment.payment_id.lower()
                entity_id = phones.get(xero_id) or self._id(kind, xero_id, existing)
                records.append(
                    mapping.payment_of(payment, entity_id, invoices[payment.invoice.invoice_id.lower()])
                )
            self.result.counts.add(
                await mirror_store.apply(session, self._org, self._client.tenant_id, kind, records, existing)
            )
            touched = {invoices[p.invoice.invoice_id.lower()] for p in ours if p.invoice is not None}
            self.result.counts.updated += await settle_paid_amounts(session, self._org, touched)

    async def _products(self) -> None:
        since, last_full = await self._cursor(data_types.PRODUCT)
        full = self._full or last_full is None or utcnow() - last_full >= FULL_PULL_EVERY
        started = utcnow()
        if full:
            items = await self._client.get("/Items", wire.Items, params={"unitdp": "4"})
            newest = await self._full_read(data_types.PRODUCT, items.items, mapping.product_of)
            await self._save_cursor(data_types.PRODUCT, newest, started)
            return
        modified_since = since - OVERLAP if since is not None else None
        items = await self._client.get(
            "/Items", wire.Items, params={"unitdp": "4"}, modified_since=modified_since
        )
        newest = (
            await self._store_page(data_types.PRODUCT, items.items, mapping.product_of)
            if items.items
            else None
        )
        await self._save_cursor(data_types.PRODUCT, newest, None)


async def _forwarded_since(database: Database, organisation_id: uuid.UUID) -> datetime | None:
    async with database.sessions() as session:
        return await outbox.first_forwarded_invoice_at(session, organisation_id)


def _id_chunks(ids: Sequence[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(ids))
    return [unique[start : start + MAX_IDS] for start in range(0, len(unique), MAX_IDS)]


def _with_forwarding(mapped: Mapped, forwarding: ForwardingSettings) -> Mapped:
    """The organisation record carries the admin's forwarding choices phones need to know."""
    if not isinstance(mapped.entity, OrganisationSettings):
        return mapped
    return dataclasses.replace(mapped, entity=with_forwarding(mapped.entity, forwarding))


def _xero_id(record: Any) -> str:
    for name in (
        "contact_id",
        "item_id",
        "account_id",
        "tax_type",
        "organisation_id",
        "tracking_category_id",
        "branding_theme_id",
    ):
        value = getattr(record, name, None)
        if isinstance(value, str):
            return value if name == "tax_type" else value.lower()
    raise TypeError(f"no Xero id on {type(record).__name__}")


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _newest(records: list[Mapped]) -> datetime | None:
    newest: datetime | None = None
    for record in records:
        newest = _later(newest, record.xero_updated_at)
    return newest
