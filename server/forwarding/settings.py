"""Per-organisation forwarding settings: read, validated against the mirror, changed with a log entry.

A change is one transaction: the settings row, a sync-log entry naming the admin and every field's
old and new value, and the organisation record phones see (``forward_payments``,
``invoice_status``) republished.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import msgspec
from sqlalchemy import select

from server.core import feed
from server.core.accounts import mirrored_accounts
from server.core.data_types import ORGANISATION
from server.core.errors import InvalidInput
from server.core.records import default_forwarding, with_forwarding
from server.db.database import Database
from server.db.forwarding_models import ForwardingSettings
from server.db.mirror_models import MirrorRecord, SyncRun
from server.db.types import utcnow
from sync_protocol.entities import OrganisationSettings, encode_entity
from sync_protocol.errors import ErrorCode

InvoiceStatus = Literal["DRAFT", "AUTHORISED"]
ConflictPolicy = Literal["xero", "phone"]  # a field a phone and Xero both changed: whose value stays


class SettingsView(msgspec.Struct, kw_only=True):
    """How this organisation's uploads go to Xero."""

    bank_account_code: str | None
    revenue_account_code: str | None
    forward_payments: bool
    update_customers: bool
    update_products: bool
    email_invoices: bool
    forward_invoice_edits: bool
    invoice_status: InvoiceStatus
    sync_interval_minutes: int | None
    conflict_policy: ConflictPolicy
    updated_at: datetime | None
    updated_by: str

    @classmethod
    def of(cls, row: ForwardingSettings, stored: bool) -> SettingsView:
        return cls(
            bank_account_code=row.bank_account_code,
            revenue_account_code=row.revenue_account_code,
            forward_payments=row.forward_payments,
            update_customers=row.update_customers,
            update_products=row.update_products,
            email_invoices=row.email_invoices,
            forward_invoice_edits=row.forward_invoice_edits,
            invoice_status="DRAFT" if row.invoice_status == "DRAFT" else "AUTHORISED",
            sync_interval_minutes=row.sync_interval_minutes,
            conflict_policy="phone" if row.conflict_policy == "phone" else "xero",
            updated_at=row.updated_at if stored else None,
            updated_by=row.updated_by,
        )


class SettingsChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The fields to change; fields left out keep their value. ``null`` clears an account or
    the interval (the server's default)."""

    bank_account_code: str | msgspec.UnsetType | None = msgspec.UNSET
    revenue_account_code: str | msgspec.UnsetType | None = msgspec.UNSET
    forward_payments: bool | msgspec.UnsetType = msgspec.UNSET
    update_customers: bool | msgspec.UnsetType = msgspec.UNSET
    update_products: bool | msgspec.UnsetType = msgspec.UNSET
    email_invoices: bool | msgspec.UnsetType = msgspec.UNSET
    forward_invoice_edits: bool | msgspec.UnsetType = msgspec.UNSET
    invoice_status: InvoiceStatus | msgspec.UnsetType = msgspec.UNSET
    sync_interval_minutes: int | msgspec.UnsetType | None = msgspec.UNSET
    conflict_policy: ConflictPolicy | msgspec.UnsetType = msgspec.UNSET

    def given(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in self.__struct_fields__
            if getattr(self, name) is not msgspec.UNSET
        }


class ForwardingSettingsService:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def get(self, organisation_id: uuid.UUID) -> SettingsView:
        async with self._db.sessions() as session:
            row = await session.get(ForwardingSettings, organisation_id)
        return SettingsView.of(row or default_forwarding(organisation_id), row is not None)

    async def update(self, organisation_id: uuid.UUID, actor: str, change: SettingsChange) -> SettingsView:
        """Apply ``change``; InvalidInput naming the field when an account is not a usable one."""
        given = change.given()
        await self._check_accounts(organisation_id, given)
        interval = given.get("sync_interval_minutes")
        if interval is not None and not 1 <= interval <= 24 * 60:
            raise InvalidInput(
                "the sync interval is between 1 and 1440 minutes", field="sync_interval_minutes"
            )
        async with self._db.transaction() as session:
            row = await session.get(ForwardingSettings, organisation_id)
            stored = row is not None
            if row is None:
                row = default_forwarding(organisation_id)
            changes = [
                {"field": name, "from": getattr(row, name), "to": value}
                for name, value in given.items()
                if getattr(row, name) != value
            ]
            if not changes:
                return SettingsView.of(row, stored)
            for name, value in given.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            row.updated_by = actor
            if not stored:
                session.add(row)
            session.add(_log_entry(organisation_id, actor, changes))
            await _republish_organisation(session, organisation_id, row)
            return SettingsView.of(row, True)

    async def _check_accounts(self, organisation_id: uuid.UUID, given: dict[str, Any]) -> None:
        for field, kind, what in (
            ("bank_account_code", "BANK", "a bank account (or one that accepts payments)"),
            ("revenue_account_code", "REVENUE", "an account of class REVENUE"),
        ):
            code = given.get(field)
            if code is None:
                continue
            accounts = await mirrored_accounts(self._db, organisation_id, kind)  # type: ignore[arg-type]
            if not any(account.code == code for account in accounts):
                choices = ", ".join(account.code for account in accounts) or "none mirrored yet: Sync now"
                raise InvalidInput(
                    f"{code} is not {what} in Xero (choose one of: {choices})",
                    field=field,
                    code=ErrorCode.INVALID_ACCOUNT,
                )


def _log_entry(organisation_id: uuid.UUID, actor: str, changes: list[dict[str, Any]]) -> SyncRun:
    now = utcnow()
    return SyncRun(
        organisation_id=organisation_id,
        kind="settings",
        trigger="admin",
        types="settings",
        status="succeeded",
        started_at=now,
        finished_at=now,
        actor=actor,
        details={"changes": changes},
        errors=[],
    )


async def _republish_organisation(session: Any, organisation_id: uuid.UUID, row: ForwardingSettings) -> None:
    mirrored = await session.scalar(
        select(MirrorRecord).where(
            MirrorRecord.organisation_id == organisation_id,
            MirrorRecord.kind == ORGANISATION,
            MirrorRecord.removed.is_(False),
        )
    )
    if mirrored is None:
        return  # not mirrored yet: the first pull publishes it with these settings
    organisation = with_forwarding(msgspec.json.decode(mirrored.payload, type=OrganisationSettings), row)
    mirrored.payload = encode_entity(organisation)
    await feed.publish(
        session, organisation_id, [feed.Change(ORGANISATION, str(mirrored.id), mirrored.payload)]
    )
