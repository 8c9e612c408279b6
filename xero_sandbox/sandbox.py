"""``Sandbox``: one simulated Xero - its state and services - with direct Python access for tests.

The HTTP layers (identity, accounting API, control API) all call into this object; tests may call the
same methods directly (they take the state lock, so it is safe from another thread).
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import contacts, invoices, items, payments, scopes, seed, tracking
from .clock import Clock
from .config import RegisteredClient, SandboxConfig
from .errors import ElementInvalid, NotFound, ValidationFailed
from .faults import Fault, Faults, FaultSpec
from .idempotency import IdempotencyStore
from .limits import RateLimiter
from .oauth import Identity, TokenPair
from .records import touch
from .scopes import DEFAULT_SCOPE
from .store import Organisation, Record, State
from .webhooks import Delivery, WebhookSender, event


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = Clock(config.time_scale)
        self.state = State()
        self.identity = Identity(config=config, clock=self.clock)
        self.limiter = RateLimiter(config.limits, self.clock)
        self.idempotency = IdempotencyStore(self.clock, config.idempotency_window_seconds)
        self.faults = Faults()
        self.webhooks = WebhookSender(
            url=config.webhook_url, key=config.webhook_key, retry_seconds=config.webhook_retry_seconds
        )
        self._pending_events: list[dict[str, Any]] = []
        self._batch_open = False  # a flush is scheduled; later events join its delivery
        self._background: set[asyncio.Task[Any]] = set()

    # --- time ------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.clock.now().date()

    def advance(self, seconds: float) -> None:
        """Move sandbox time forward (tokens expire, windows roll, idempotency keys lapse)."""
        self.clock.advance(seconds)

    @contextmanager
    def locked(self) -> Iterator[State]:
        with self.state.lock:
            yield self.state

    # --- organisations -----------------------------------------------------------------------------
    def create_organisation(
        self,
        name: str = "Demo Company (NZ)",
        region: seed.Region = "NZ",
        seed_value: int = 1,
        contacts_count: int = 10,
        items_count: int = 10,
    ) -> Organisation:
        with self.locked() as state:
            now = self.now()
            org = seed.build_organisation(name, region, seed_value, now)
            org.tax_rounding = self.config.tax_rounding
            if org.tenant_id in state.organisations:
                raise ValueError(f"an organisation from seed {seed_value} exists already; use another seed")
            seed.add_contacts(org, contacts_count, seed_value, now)
            seed.add_items(org, items_count, seed_value, now)
            state.organisations[org.tenant_id] = org
            return org

    def organisation(self, tenant_id: str) -> Organisation:
        org = self.state.organisation(tenant_id)
        if org is None:
            raise NotFound()
        return org

    def add_contacts(self, tenant_id: str, count: int, seed_value: int = 1) -> list[str]:
        with self.locked():
            org = self.organisation(tenant_id)
            return seed.add_contacts(org, count, seed_value + len(org.contacts), self.now())

    # --- OAuth without a browser -----------------------------------------------------------------
    def register_client(
        self, client_id: str, client_secret: str, redirect_uris: tuple[str, ...], broad_scopes: bool = False
    ) -> None:
        self.identity.extra_clients[client_id] = RegisteredClient(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=redirect_uris,
            broad_scopes=broad_scopes,
        )

    def grant_tokens(
        self,
        client_id: str,
        tenant_ids: list[str] | None = None,
        scope: str = DEFAULT_SCOPE,
    ) -> TokenPair:
        """What consent + code exchange would give, in one step (the control API's /tokens)."""
        with self.locked() as state:
            client = self.identity.client(client_id)
            if client is None:
                raise ValueError(f"unknown client {client_id}")
            problem = scopes.authorize_problem(scope, client.broad_scopes)
            if problem:
                raise ValueError(problem)
            chosen = tenant_ids if tenant_ids is not None else list(state.organisations)
            names = {tid: state.organisations[tid.lower()].name for tid in chosen}
            code = self.identity.issue_code(
                client_id,
                client.redirect_uris[0] if client.redirect_uris else "",
                scope,
                [t.lower() for t in chosen],
                {k.lower(): v for k, v in names.items()},
                None,
                None,
                self.now(),
            )
            return self.identity.exchange_code(client, code, None, None)

    def revoke_connection(self, tenant_id: str, client_id: str | None = None) -> int:
        """The user disconnects the app from an organisation (in Xero's UI): calls get 403."""
        with self.locked():
            gone = [
                c.id
                for c in self.identity.connections.values()
                if c.tenant_id == tenant_id.lower() and (client_id is None or c.client_id == client_id)
            ]
            for connection_id in gone:
                self.identity.disconnect(connection_id)
            return len(gone)

    # --- acting as a Xero user -------------------------------------------------------------------
    def user_edit_contact(self, tenant_id: str, contact_id: str, fields: dict[str, Any]) -> Record:
        with self.locked():
            org = self.organisation(tenant_id)
            contact = contacts.get(org, contact_id)
            result = self._apply(
                lambda: contacts.commit_update(org, contacts.prepare_update(org, contact, fields), self.now())
            )
            self.notify(org.tenant_id, "CONTACT", contact["ContactID"], "UPDATE")
            return result

    def user_archive_contact(self, tenant_id: str, contact_id: str) -> Record:
        return self.user_edit_contact(tenant_id, contact_id, {"ContactStatus": "ARCHIVED"})

    def user_delete_item(self, tenant_id: str, item_id: str) -> Record:
        with self.locked():
            return items.delete(self.organisation(tenant_id), item_id)

    def set_tax_rules(
        self, tenant_id: str, rounding: str | None, keep_given_tax: bool | None
    ) -> Organisation:
        with self.locked():
            org = self.organisation(tenant_id)
            if rounding is not None:
                org.tax_rounding = rounding
            if keep_given_tax is not None:
                org.keep_given_tax = keep_given_tax
            return org

    def user_set_payment_terms(self, tenant_id: str, terms: dict[str, Any]) -> Record:
        """An admin sets the organisation's default payment terms (Settings > Invoice settings)."""
        with self.locked():
            org = self.organisation(tenant_id)
            errors = contacts.payment_terms_errors(terms)
            if errors:
                raise ValidationFailed([{"ValidationErrors": [{"Message": message} for message in errors]}])
            org.info["PaymentTerms"] = {
                side: dict(terms[side]) for side in ("Bills", "Sales") if isinstance(terms.get(side), dict)
            }
            return org.info

    def user_change_tax_rate(self, tenant_id: str, tax_type: str, fields: dict[str, Any]) -> Record:
        """Edit a tax rate: Status (ACTIVE/DELETED/ARCHIVED/PENDING), Name, or a single-component Rate."""
        with self.locked():
            org = self.organisation(tenant_id)
            rate = org.tax_rates.get(tax_type)
            if rate is None:
                raise NotFound()
            if "Status" in fields:
                if fields["Status"] not in ("ACTIVE", "DELETED", "ARCHIVED", "PENDING"):
                    raise ValidationFailed(
                        [
                            {
                                "TaxType": tax_type,
                                "ValidationErrors": [
                                    {"Message": f"Status '{fields['Status']}' is not valid."}
                                ],
                            }
                        ]
                    )
                rate["Status"] = fields["Status"]
            if "Name" in fields:
                rate["Name"] = str(fields["Name"])
            if "Rate" in fields:
                value = Decimal(str(fields["Rate"]))
                rate["DisplayTaxRate"] = rate["EffectiveRate"] = value
                rate["TaxComponents"] = [
                    {"Name": "Tax", "Rate": value, "IsCompound": False, "IsNonRecoverable": False}
                ]
            touch(rate, self.now())
            return rate

    def user_record_payment(
        self, tenant_id: str, invoice_id: str, amount: Any, account_code: str = "090", on: str | None = None
    ) -> Record:
        with self.locked():
            org = self.organisation(tenant_id)
            element: dict[str, Any] = {
                "Invoice": {"InvoiceID": invoice_id},
                "Account": {"Code": account_code},
                "Amount": amount,
            }
            if on:
                element["Date"] = on
            payment = self._apply(
                lambda: payments.commit_create(
                    org, payments.prepare_create(org, element, self.today()), self.now()
                )
            )
            self.notify(org.tenant_id, "INVOICE", invoice_id.lower(), "UPDATE")
            return payment

    def user_edit_invoice(self, tenant_id: str, invoice_id: str, fields: dict[str, Any]) -> Record:
        """Edit an invoice as a Xero user would (Reference, Date, DueDate, LineItems, …)."""
        with self.locked():
            org = self.organisation(tenant_id)
            invoice = invoices.get(org, invoice_id)
            result = self._apply(
                lambda: invoices.commit_update(
                    org, invoices.prepare_update(org, invoice, fields, 2), self.now()
                )
            )
            self.notify(org.tenant_id, "INVOICE", invoice["InvoiceID"], "UPDATE")
            return result

    def user_delete_payment(self, tenant_id: str, payment_id: str) -> Record:
        """A Xero user removes a payment (Xero keeps it, ``DELETED``): the invoice is owed again."""
        with self.locked():
            org = self.organisation(tenant_id)
            payment = payments.get(org, payment_id)
            self._apply(lambda: payments.delete(org, payment, {"Status": "DELETED"}, self.now()))
            self.notify(org.tenant_id, "INVOICE", payment["Invoice"]["InvoiceID"], "UPDATE")
            return payment

    def user_void_invoice(self, tenant_id: str, invoice_id: str, remove_payments: bool = False) -> Record:
        """``remove_payments``: the invoice's payments are removed first (``DELETED``), as Xero's user
        does to void a paid invoice (Xero refuses to void one with payments applied)."""
        with self.locked():
            org = self.organisation(tenant_id)
            invoice = invoices.get(org, invoice_id)
            if remove_payments:
                for payment_id in invoice["_payments"]:
                    payment = org.payments[payment_id]
                    if payment["Status"] != "DELETED":
                        payments.delete(org, payment, {"Status": "DELETED"}, self.now())
            result = self._apply(
                lambda: invoices.commit_update(
                    org, invoices.prepare_update(org, invoice, {"Status": "VOIDED"}, 2), self.now()
                )
            )
            self.notify(org.tenant_id, "INVOICE", invoice["InvoiceID"], "UPDATE")
            return result

    def user_add_tracking_category(self, tenant_id: str, name: Any, options: list[Any]) -> Record:
        with self.locked():
            return tracking.create_category(self.organisation(tenant_id), name, options)

    def user_set_tracking_category_status(self, tenant_id: str, category_id: str, status: str) -> Record:
        with self.locked():
            return tracking.set_category_status(self.organisation(tenant_id), category_id, status)

    def user_add_tracking_option(self, tenant_id: str, category_id: str, name: Any) -> Record:
        with self.locked():
            found = tracking.category(self.organisation(tenant_id), category_id)
            return tracking.option_wire(found, tracking.add_option(found, name))

    def user_set_tracking_option_status(
        self, tenant_id: str, category_id: str, option_id: str, status: str
    ) -> Record:
        with self.locked():
            found = tracking.category(self.organisation(tenant_id), category_id)
            return tracking.option_wire(found, tracking.set_option_status(found, option_id, status))

    def user_add_branding_theme(self, tenant_id: str, name: Any) -> Record:
        with self.locked():
            return tracking.add_theme(self.organisation(tenant_id), name, self.now())

    def user_delete_branding_theme(self, tenant_id: str, theme_id: str) -> Record:
        with self.locked():
            return tracking.delete_theme(self.organisation(tenant_id), theme_id)

    @staticmethod
    def _apply(action: Any) -> Record:
        try:
            result: Record = action()
        except ElementInvalid as exc:
            raise ValidationFailed([{"ValidationErrors": [{"Message": m} for m in exc.messages]}]) from exc
        return result

    # --- faults ------------------------------------------------------------------------------------
    def add_fault(self, spec: FaultSpec) -> Fault:
        with self.locked():
            return self.faults.add(spec)

    # --- webhooks ----------------------------------------------------------------------------------
    def notify(self, tenant_id: str, category: str, resource_id: str, event_type: str) -> None:
        """Queue a webhook event; sent at once (in the background) when webhook_auto is on."""
        if not self.webhooks.configured:
            return
        self._pending_events.append(event(tenant_id, category, resource_id, event_type, self.now()))
        if self.config.webhook_auto:
            self._flush_soon()

    def _flush_soon(self) -> None:
        if self._batch_open:
            return  # the scheduled flush takes this event too
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # not on the server loop (direct Python use): events wait for flush_webhooks()
        self._batch_open = True
        self._spawn(self._flush_after_window())

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _flush_after_window(self) -> None:
        try:
            await asyncio.sleep(self.config.webhook_batch_seconds)
        finally:
            self._batch_open = False
        await self.flush_webhooks()

    async def flush_webhooks(self) -> dict[str, Any] | None:
        """Sends what is queued, in deliveries of at most ``webhook_batch_max_events``; reports the first."""
        events, self._pending_events = self._pending_events, []
        if not events:
            return None
        size = max(1, self.config.webhook_batch_max_events)
        first: Delivery | None = None
        for start in range(0, len(events), size):
            delivery = await self.webhooks.send(events[start : start + size], self.now())
            first = first or delivery
            if delivery.status != 200 and self.webhooks.retry_seconds:
                # Xero tries again when it got no 200; the answer here is the first attempt's.
                self._spawn(self.webhooks.redeliver(delivery, self.now))
        assert first is not None
        return {
            "status": first.status,
            "events": len(events),
            "deliveries": -(-len(events) // size),
            "error": first.error,
        }

    # --- reset and persistence -----------------------------------------------------------------------
    def reset(self) -> None:
        with self.locked() as state:
            state.organisations.clear()
            state.ledger.clear()
            state.calls.clear()
            for table in (
                self.identity.codes,
                self.identity.grants,
                self.identity.access_tokens,
                self.identity.refresh_tokens,
                self.identity.connections,
            ):
                table.clear()
            self.limiter.reset()
            self.idempotency.reset()
            self.faults.clear()
            self._pending_events.clear()

    def save(self, path: str) -> None:
        """Persist organisations and the identity server (pickle: the state file is the sandbox's own)."""
        with self.locked() as state:
            snapshot = {
                "organisations": state.organisations,
                "clock_seconds": self.clock.seconds(),
                "identity": {
                    "secret": self.identity.secret,
                    "signing_key": self.identity.signing_key,
                    "grants": self.identity.grants,
                    "access_tokens": self.identity.access_tokens,
                    "refresh_tokens": self.identity.refresh_tokens,
                    "connections": self.identity.connections,
                },
            }
            Path(path).write_bytes(pickle.dumps(snapshot))

    def load(self, path: str) -> bool:
        file = Path(path)
        if not file.exists():
            return False
        snapshot = pickle.loads(file.read_bytes())
        with self.locked() as state:
            state.organisations = snapshot["organisations"]
            # Carry sandbox time on so stored token expiries stay meaningful.
            self.clock.advance(max(0.0, snapshot["clock_seconds"] - self.clock.seconds()))
            for key, value in snapshot["identity"].items():
                setattr(self.identity, key, value)
        return True
