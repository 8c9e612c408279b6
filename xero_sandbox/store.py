"""In-memory state of the sandbox: organisations and their records, the ledger, call counts.

Records are dicts in Xero's field names (money as Decimal, dates as ``date``/``datetime``); keys
starting with ``_`` are the sandbox's own bookkeeping and never go on the wire. One re-entrant lock
guards everything: handlers run on the server's event loop while tests and the control API may touch
the same state from another thread through ``Sandbox``.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Record = dict[str, Any]


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Organisation:
    """One Xero organisation (tenant) and everything in it."""

    tenant_id: str
    name: str
    region: str
    info: Record
    created: datetime
    accounts: dict[str, Record] = field(default_factory=dict)
    tax_rates: dict[str, Record] = field(default_factory=dict)  # keyed by TaxType
    contacts: dict[str, Record] = field(default_factory=dict)
    items: dict[str, Record] = field(default_factory=dict)
    invoices: dict[str, Record] = field(default_factory=dict)
    payments: dict[str, Record] = field(default_factory=dict)
    tracking_categories: dict[str, Record] = field(default_factory=dict)
    branding_themes: dict[str, Record] = field(default_factory=dict)
    # Lower-cased name -> ContactID of ACTIVE contacts: names are unique among active contacts.
    active_contact_names: dict[str, str] = field(default_factory=dict)
    next_invoice_number: int = 1
    # The tie rule of a line's computed tax ("half_up" or "half_even"; "": the sandbox's config).
    tax_rounding: str = ""
    # Whether a line's given TaxAmount is kept (Xero's way); False: computed as if it were not given.
    keep_given_tax: bool = True
    # Invoices emailed through the API (``POST /Invoices/{id}/Email``): what Xero would have sent.
    emails: list[Record] = field(default_factory=list)
    # Xero caps the invoice emails an organisation's API clients send in a day (sandbox time).
    emails_per_day: int = 1000

    def account_by_code(self, code: str) -> Record | None:
        for account in self.accounts.values():
            if account.get("Code") == code and account["Status"] != "DELETED":
                return account
        return None

    def item_by_code(self, code: str) -> Record | None:
        for item in self.items.values():
            if item["Code"] == code:
                return item
        return None

    def claim_invoice_number(self) -> str:
        number = f"INV-{self.next_invoice_number:04d}"
        self.next_invoice_number += 1
        return number


@dataclass
class LedgerEntry:
    """One write the API accepted: what was asked, with which key, what it touched."""

    seq: int
    at: datetime
    tenant_id: str
    method: str
    path: str
    query: str
    idempotency_key: str | None
    request: Any
    status: int
    changes: list[dict[str, str]]  # {"entity": "Invoice", "id": "...", "action": "create"}
    replayed: bool = False


@dataclass
class State:
    organisations: dict[str, Organisation] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def organisation(self, tenant_id: str) -> Organisation | None:
        return self.organisations.get(tenant_id.lower())

    def record_call(self, route: str) -> None:
        """Count a call per endpoint, keyed ``"METHOD /path/{template}"``."""
        self.calls[route] += 1

    def add_ledger(self, **fields: Any) -> LedgerEntry:
        entry = LedgerEntry(seq=len(self.ledger) + 1, **fields)
        self.ledger.append(entry)
        return entry
