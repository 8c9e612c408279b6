"""Current record states, read from (and written back to) the change feed.

The feed holds every record a phone can see, mirror records and uploaded ones alike, so push
validation looks references up here (product by id, tax rate by ``tax_type``, account by
``code``) instead of in the mirror's own tables. Records changed earlier in the same push are
served from the batch's own view, so a customer, its invoice and a payment can travel together.
Single records are read through the transaction's current records (``server.core.current``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TypeVar

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.current import CurrentRecords, current_records

# ``lock_organisation`` is re-exported: pushes take the feed lock publishing takes before they validate.
from server.core.feed import Change
from server.core.feed import lock_organisation as lock_organisation
from server.db.forwarding_models import ForwardingSettings
from server.db.mirror_models import MirrorRecord
from server.db.models import SyncRecord
from sync_protocol.entities import (
    ENTITY_NAME,
    Account,
    BrandingTheme,
    Entity,
    OrganisationSettings,
    TaxRate,
    TrackingCategory,
    TrackingOption,
    encode_entity,
)

E = TypeVar("E", bound=Entity)


class RecordView:
    """What the organisation's records look like: the feed, plus this batch's changes on top."""

    def __init__(self, session: AsyncSession, organisation_id: uuid.UUID) -> None:
        self._session = session
        self._org = organisation_id
        self._changed: dict[tuple[str, str], Entity] = {}
        self._by_code: dict[str, dict[str, Entity]] = {}
        self._forwarding: ForwardingSettings | None = None
        self._organisation: list[OrganisationSettings | None] = []

    @property
    def _records(self) -> CurrentRecords:
        # Looked up on use: the reader belongs to the session's transaction of the moment.
        return current_records(self._session, self._org)

    async def preload(self, record_ids: Iterable[str]) -> None:
        """Reads the feed rows of ``record_ids`` (of any kind) in one query per chunk.

        A push refers to a handful of records per mutation (the record itself, its customer, its
        lines' products); reading them up front makes validation one query, not one per lookup.
        """
        await self._records.load_ids(record_ids)

    async def get(self, cls: type[E], record_id: str) -> E | None:
        changed = self._changed.get((ENTITY_NAME[cls], record_id))
        if changed is not None:
            return changed if isinstance(changed, cls) else None
        return await self._records.record(cls, record_id)

    async def exists_as_other_entity(self, cls: type[Entity], record_id: str) -> bool:
        """Whether ``record_id`` names a live record of another kind (ids are shared across kinds)."""
        others = [name for c, name in ENTITY_NAME.items() if c is not cls]
        if any((name, record_id) in self._changed for name in others):
            return True
        records = self._records
        await records.load_ids([record_id])
        return any(records.is_live(name, record_id) for name in others)

    async def removed_from_mirror(self, cls: type[Entity], record_id: str) -> bool:
        """Whether the mirror holds ``record_id`` as a record Xero archived or deleted."""
        try:
            key = uuid.UUID(record_id)
        except ValueError:
            return False
        removed = await self._session.scalar(
            select(MirrorRecord.removed).where(
                MirrorRecord.organisation_id == self._org,
                MirrorRecord.kind == ENTITY_NAME[cls],
                MirrorRecord.id == key,
            )
        )
        return bool(removed)

    async def _all_of(self, cls: type[Entity]) -> list[Entity]:
        rows = await self._session.scalars(
            select(SyncRecord.payload).where(
                SyncRecord.organisation_id == self._org,
                SyncRecord.entity == ENTITY_NAME[cls],
                SyncRecord.payload.is_not(None),
            )
        )
        return [msgspec.json.decode(payload, type=cls) for payload in rows if payload is not None]

    async def tax_rate(self, tax_type: str) -> TaxRate | None:
        if "tax_rate" not in self._by_code:
            rates = [r for r in await self._all_of(TaxRate) if isinstance(r, TaxRate)]
            self._by_code["tax_rate"] = {r.tax_type: r for r in rates if r.status == "ACTIVE"}
        found = self._by_code["tax_rate"].get(tax_type)
        return found if isinstance(found, TaxRate) else None

    async def account(self, code: str) -> Account | None:
        if "account" not in self._by_code:
            accounts = [a for a in await self._all_of(Account) if isinstance(a, Account)]
            self._by_code["account"] = {a.code: a for a in accounts if a.status == "ACTIVE"}
        found = self._by_code["account"].get(code)
        return found if isinstance(found, Account) else None

    async def tracking_option(self, option_id: str) -> tuple[TrackingOption, TrackingCategory | None] | None:
        """The tracking option with this id and its category, as the mirror has them."""
        if "tracking_option" not in self._by_code:
            self._by_code["tracking_option"] = {o.id: o for o in await self._all_of(TrackingOption)}
            self._by_code["tracking_category"] = {c.id: c for c in await self._all_of(TrackingCategory)}
        option = self._by_code["tracking_option"].get(option_id)
        if not isinstance(option, TrackingOption):
            return None
        category = self._by_code["tracking_category"].get(option.tracking_category_id)
        return option, category if isinstance(category, TrackingCategory) else None

    async def branding_theme(self, theme_id: str) -> BrandingTheme | None:
        if "branding_theme" not in self._by_code:
            self._by_code["branding_theme"] = {t.id: t for t in await self._all_of(BrandingTheme)}
        found = self._by_code["branding_theme"].get(theme_id)
        return found if isinstance(found, BrandingTheme) else None

    async def xero_ids_for_invoices(self) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
        """Each tracking option's (TrackingCategoryID, TrackingOptionID) and each branding theme's
        BrandingThemeID, by ledgersync's id: what forwarding an invoice names them by."""
        await self.tracking_option("")
        await self.branding_theme("")
        categories = self._by_code["tracking_category"]
        tracking: dict[str, tuple[str, str]] = {}
        for option in self._by_code["tracking_option"].values():
            assert isinstance(option, TrackingOption)
            category = categories.get(option.tracking_category_id)
            if category is not None and category.xero_id and option.xero_id:
                tracking[option.id] = (category.xero_id, option.xero_id)
        themes = {t.id: t.xero_id for t in self._by_code["branding_theme"].values() if t.xero_id}
        return tracking, themes

    async def every(self, cls: type[E]) -> list[E]:
        """Every record of ``cls`` as this batch sees it: the feed's, with the batch's own changes
        over them (a kind's uniqueness check, e.g. a product's code, reads this)."""
        found = {r.id: r for r in await self._all_of(cls) if isinstance(r, cls)}
        name = ENTITY_NAME[cls]
        found.update(
            (record.id, record)
            for (entity, _), record in self._changed.items()
            if entity == name and isinstance(record, cls)
        )
        return list(found.values())

    async def organisation(self) -> OrganisationSettings | None:
        if not self._organisation:
            found = await self._all_of(OrganisationSettings)
            self._organisation.append(
                found[0] if found and isinstance(found[0], OrganisationSettings) else None
            )
        return self._organisation[0]

    async def forwarding(self) -> ForwardingSettings:
        """The organisation's forwarding settings (the defaults when an admin never set any)."""
        if self._forwarding is None:
            found = await self._session.get(ForwardingSettings, self._org)
            self._forwarding = found or default_forwarding(self._org)
        return self._forwarding

    def put(self, record: Entity) -> None:
        self._changed[(ENTITY_NAME[type(record)], record.id)] = record

    def changes(self) -> list[Change]:
        return [
            Change(entity, record_id, encode_entity(r)) for (entity, record_id), r in self._changed.items()
        ]


def default_forwarding(organisation_id: uuid.UUID) -> ForwardingSettings:
    return ForwardingSettings(
        organisation_id=organisation_id,
        bank_account_code=None,
        revenue_account_code=None,
        forward_payments=True,
        update_customers=True,
        update_products=True,
        email_invoices=False,
        forward_invoice_edits=True,
        invoice_status="AUTHORISED",
        sync_interval_minutes=None,
        conflict_policy="xero",
        updated_by="",
    )


def with_forwarding(organisation: OrganisationSettings, settings: ForwardingSettings) -> OrganisationSettings:
    """The organisation record phones get: Xero's settings plus the admin's forwarding choices."""
    status = "DRAFT" if settings.invoice_status == "DRAFT" else "AUTHORISED"
    return msgspec.structs.replace(
        organisation,
        forward_payments=settings.forward_payments,
        invoice_status=status,
        forward_invoice_edits=settings.forward_invoice_edits,
        update_customers=settings.update_customers,
        update_products=settings.update_products,
        email_invoices=settings.email_invoices,
        bank_account_code=settings.bank_account_code,
        revenue_account_code=settings.revenue_account_code,
    )
