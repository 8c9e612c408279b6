"""Reading mirrored accounts for admins (bank accounts for payments, revenue accounts for sales)."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec
from sqlalchemy import select

from server.core.data_types import ACCOUNT
from server.db.database import Database
from server.db.mirror_models import MirrorRecord
from sync_protocol.entities import Account

AccountFilter = Literal["BANK", "REVENUE"]
_decoder = msgspec.json.Decoder(Account)


BANK = "BANK"
REVENUE_CLASS = "REVENUE"


def takes_payments(account: Account) -> bool:
    """Xero takes payments into BANK accounts and into accounts with "enable payments to this account"."""
    return account.type == BANK or account.enable_payments


def is_revenue(account: Account) -> bool:
    return account.account_class == REVENUE_CLASS


def phones_get(account: Account) -> bool:
    """The accounts phones receive: every active one a payment or a sale can name (so every account
    the forwarding settings can choose, see ``server.core.accounts``)."""
    return account.status == "ACTIVE" and (takes_payments(account) or is_revenue(account))


async def mirrored_accounts(
    database: Database, organisation_id: uuid.UUID, kind: AccountFilter | None
) -> list[Account]:
    """Active mirrored accounts that phones have, by code. BANK: accounts payments can go to (Type
    BANK, or EnablePaymentsToAccount); REVENUE: by Class (REVENUE, SALES, OTHERINCOME).

    Only accounts published to phones count (``phones_get``): a setting naming an account
    phones never received would make every phone payment or line refused ``unknown_account``.
    """
    async with database.sessions() as session:
        payloads = await session.scalars(
            select(MirrorRecord.payload).where(
                MirrorRecord.organisation_id == organisation_id,
                MirrorRecord.kind == ACCOUNT,
                MirrorRecord.removed.is_(False),
            )
        )
        accounts = [_decoder.decode(payload) for payload in payloads]
    wanted = [
        account
        for account in accounts
        if phones_get(account)
        and (
            kind is None
            or (kind == "BANK" and takes_payments(account))
            or (kind == "REVENUE" and is_revenue(account))
        )
    ]
    return sorted(wanted, key=lambda account: (account.code, account.name))
