"""Reading mirrored accounts for admins (bank accounts for payments, revenue accounts for sales)."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec
from sqlalchemy import select

from server.db.database import Database
from server.db.mirror_models import MirrorRecord
from server.services.mirror.kinds import ACCOUNT
from sync_protocol.entities import Account

AccountFilter = Literal["BANK", "REVENUE"]
_decoder = msgspec.json.Decoder(Account)


async def mirrored_accounts(
    database: Database, organisation_id: uuid.UUID, kind: AccountFilter | None
) -> list[Account]:
    """Active mirrored accounts, by code. BANK: accounts payments can go to (Type BANK, or
    EnablePaymentsToAccount); REVENUE: by Class (REVENUE, SALES, OTHERINCOME)."""
    async with database.sessions() as session:
        payloads = await session.scalars(
            select(MirrorRecord.payload).where(
                MirrorRecord.organisation_id == organisation_id, MirrorRecord.kind == ACCOUNT
            )
        )
        accounts = [_decoder.decode(payload) for payload in payloads]
    wanted = [
        account
        for account in accounts
        if account.status == "ACTIVE"
        and (
            kind is None
            or (kind == "BANK" and (account.type == "BANK" or account.enable_payments))
            or (kind == "REVENUE" and account.account_class == "REVENUE")
        )
    ]
    return sorted(wanted, key=lambda account: (account.code, account.name))
