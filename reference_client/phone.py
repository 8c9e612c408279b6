"""The phone: pair, refresh, draft records offline, upload them."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any

import httpx
import msgspec
from httpx_sse import aconnect_sse

from reference_client.store import LocalStore
from sync_protocol.drafts import customer_base, customer_draft, invoice_draft
from sync_protocol.entities import Customer, Invoice, LineAmountType, Product, TaxRate
from sync_protocol.messages import (
    AnyMutation,
    CreatePayment,
    CustomerDraft,
    EmailInvoice,
    InvoiceDraft,
    InvoiceLineDraft,
    MutationResult,
    PairResponse,
    PaymentDraft,
    PullResponse,
    PushRequest,
    PushResponse,
    UploadStatus,
    UpsertCustomer,
    UpsertInvoice,
    VoidInvoice,
)
from sync_protocol.money import money_text
from sync_protocol.totals import invoice_totals, line_amount, line_tax
from sync_protocol.version import PROTOCOL_HEADER, PROTOCOL_VERSION

_pull = msgspec.json.Decoder(PullResponse)
_push = msgspec.json.Decoder(PushResponse)


class UploadFailed(Exception):
    """The upload did not get through after its retries; the queue is intact, try again later."""


@dataclass(frozen=True)
class Line:
    """A line as staff enter it; the phone computes the amounts the way the server checks them."""

    quantity: str
    unit_amount: str
    description: str = ""
    product_id: str | None = None
    tax_type: str | None = None
    account_code: str | None = None
    discount_rate: str | None = None
    tracking: tuple[str, ...] = ()  # tracking option ids (at most two, of different categories)


@dataclass
class RefreshReport:
    pages: int = 0
    changes: int = 0
    resynced: bool = False


def _new_id() -> str:
    return str(uuid.uuid4())


class Phone:
    def __init__(
        self,
        base_url: str,
        store: LocalStore | None = None,
        *,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        page_limit: int = 5000,
        batch_size: int = 100,
    ) -> None:
        self.store = store or LocalStore()
        self.token = token or self.store.token
        self.base_url = base_url
        self.page_limit = page_limit
        self.batch_size = batch_size
        self._http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=30,
            headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
        )

    async def __aenter__(self) -> Phone:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def pair(self, code: str, device_name: str = "reference phone") -> PairResponse:
        response = await self._http.post("/mobile/v1/pair", json={"code": code, "device_name": device_name})
        response.raise_for_status()
        paired = msgspec.json.decode(response.content, type=PairResponse)
        self.token = paired.token
        self.store.set_pairing(self.base_url, paired.token, paired.device_id, paired.staff_name)
        return paired

    async def upload_status(self, mutation_id: str) -> UploadStatus:
        """Where one uploaded mutation stands now (``GET /mobile/v1/uploads/{mutation_id}``)."""
        response = await self._http.get(f"/mobile/v1/uploads/{mutation_id}", headers=self._auth())
        response.raise_for_status()
        return msgspec.json.decode(response.content, type=UploadStatus)

    # --- Pokes ----------------------------------------------------------------------------

    async def pokes(self, silence: float = 35.0) -> AsyncIterator[int]:
        """The feed versions the server pokes (``GET /mobile/v1/pokes``, Server-Sent Events), for ever.

        A dropped stream, or one silent for ``silence`` seconds (heartbeats come every 15 s), is opened
        again with ``Last-Event-ID``, so a move while it was down is poked at once. An HTTP error (a
        revoked token: also what follows the stream's ``revoked`` event) ends it.
        """
        last_id = ""
        delay = 0.5
        while True:
            headers = {**self._auth(), "Accept": "text/event-stream"}
            if last_id:
                headers["Last-Event-ID"] = last_id
            try:
                async with aconnect_sse(
                    self._http,
                    "GET",
                    "/mobile/v1/pokes",
                    headers=headers,
                    timeout=httpx.Timeout(30, read=silence),
                ) as source:
                    source.response.raise_for_status()
                    delay = 0.5
                    async for event in source.aiter_sse():
                        if event.event == "revoked":
                            break  # reconnecting is refused with 401 device_revoked, which ends this
                        if event.event == "poke" and event.data:
                            last_id = event.id or last_id
                            yield int(msgspec.json.decode(event.data)["version"])
            except httpx.TransportError:
                pass
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    # --- Refresh from Cloud ---------------------------------------------------------------

    async def refresh(self) -> RefreshReport:
        """Pulls until caught up. A ``resync_required`` answer drops the local mirror and starts
        again from a snapshot; queued uploads are untouched."""
        report = RefreshReport()
        while True:
            cursor = self.store.cursor
            headers = self._auth()
            if self.store.etag:
                headers["If-None-Match"] = self.store.etag
            response = await self._pull_with_retries(cursor, headers)
            if response.status_code == 304:
                return report
            if response.status_code == 409 and response.json()["error"]["code"] == "resync_required":
                self.store.reset_mirror()
                report.resynced = True
                continue
            response.raise_for_status()
            page = _pull.decode(response.content)
            self.store.apply(page.changes, page.cursor)
            report.pages += 1
            report.changes += len(page.changes)
            if not page.has_more:
                if "etag" in response.headers:
                    self.store.set_etag(response.headers["etag"])
                return report

    async def _pull_with_retries(
        self, cursor: int, headers: dict[str, str], retries: int = 3
    ) -> httpx.Response:
        """One page. A pull changes nothing on the server, so a transport error (a kept-alive
        connection the server closed just as it was reused, a reset) or a 429/5xx is simply asked again."""
        params = {"cursor": cursor, "limit": self.page_limit}
        for attempt in range(retries + 1):
            try:
                response = await self._http.get("/mobile/v1/changes", params=params, headers=headers)
            except httpx.TransportError:
                if attempt == retries:
                    raise
                await asyncio.sleep(0.05 * 2**attempt)
                continue
            if (response.status_code == 429 or response.status_code >= 500) and attempt < retries:
                await asyncio.sleep(min(float(response.headers.get("retry-after", "0.1")), 5.0))
                continue
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    # --- upload ---------------------------------------------------------------------------

    async def upload(self, retries: int = 3) -> list[MutationResult]:
        """Pushes the queue in batches. After a lost response or a 429/5xx it resends the same
        batch (same mutation ids): the server answers replays with their original results."""
        settled: list[MutationResult] = []
        while batch := self.store.pending(self.batch_size):
            results = await self._push_with_retries(batch, retries)
            self.store.settle(results)
            settled += results
        return settled

    async def _push_with_retries(self, batch: list[AnyMutation], retries: int) -> list[MutationResult]:
        body = msgspec.json.encode(PushRequest(mutations=batch))
        headers = {**self._auth(), "Content-Type": "application/json"}
        for attempt in range(retries + 1):
            try:
                response = await self._http.post("/mobile/v1/mutations", content=body, headers=headers)
            except httpx.TransportError as exc:
                if attempt == retries:
                    raise UploadFailed(f"upload failed: {exc!r}") from exc
                await asyncio.sleep(0.05 * 2**attempt)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == retries:
                    raise UploadFailed(f"upload failed with {response.status_code}")
                await asyncio.sleep(min(float(response.headers.get("retry-after", "0.1")), 5.0))
                continue
            response.raise_for_status()
            return _push.decode(response.content).results
        raise UploadFailed("upload failed")

    # --- drafting records offline ---------------------------------------------------------

    def queue(self, mutation: AnyMutation) -> None:
        self.store.enqueue(mutation)

    def create_customer(self, name: str, email: str = "", customer_id: str | None = None) -> str:
        customer_id = customer_id or _new_id()
        draft = CustomerDraft(id=customer_id, name=name, email=email)
        self.queue(UpsertCustomer(mutation_id=_new_id(), customer=draft))
        return customer_id

    def edit_customer(self, customer_id: str, **fields: str) -> None:
        """Changes some fields of a customer this phone has (``email=""`` clears the email).

        The edit carries the customer as the phone had it (``base``) and the fields changed, so
        the server changes only those, merged with what Xero has (docs/protocol.md).
        """
        payload = self.store.record("customer", customer_id)
        if payload is None:
            raise KeyError(f"no customer {customer_id} on this phone; refresh first")
        current = msgspec.json.decode(payload, type=Customer)
        before = customer_draft(current)
        draft = msgspec.structs.replace(before, **fields)
        changed = [name for name in fields if getattr(draft, name) != getattr(before, name)]
        base = customer_base(current)
        self.queue(
            UpsertCustomer(mutation_id=_new_id(), customer=draft, base=base, changed=changed)  # type: ignore[arg-type]
        )

    def edit_invoice(self, invoice_id: str, **fields: Any) -> None:
        """Changes top-level fields of an invoice this phone has (``reference``, ``date``,
        ``due_date``), keeping its lines; the edit carries its base, as ``edit_customer``'s."""
        payload = self.store.record("invoice", invoice_id)
        if payload is None:
            raise KeyError(f"no invoice {invoice_id} on this phone; refresh first")
        base = invoice_draft(msgspec.json.decode(payload, type=Invoice))
        draft = msgspec.structs.replace(base, **fields)
        changed = [name for name in fields if getattr(draft, name) != getattr(base, name)]
        self.queue(UpsertInvoice(mutation_id=_new_id(), invoice=draft, base=base, changed=changed))  # type: ignore[arg-type]

    def _tax_rate(self, tax_type: str) -> Decimal:
        for payload in self.store.records("tax_rate").values():
            rate = msgspec.json.decode(payload, type=TaxRate)
            if rate.tax_type == tax_type:
                return rate.rate
        raise KeyError(f"no tax rate {tax_type} on this phone; refresh first")

    def _draft_line(self, line: Line, kind: LineAmountType) -> InvoiceLineDraft:
        tax_type = line.tax_type
        if tax_type is None and line.product_id is not None:
            payload = self.store.record("product", line.product_id)
            tax_type = msgspec.json.decode(payload, type=Product).tax_type if payload else None
        rate = self._tax_rate(tax_type) if tax_type and kind != "NoTax" else Decimal(0)
        discount = Decimal(line.discount_rate) if line.discount_rate is not None else None
        amount = line_amount(Decimal(line.quantity), Decimal(line.unit_amount), discount)
        return InvoiceLineDraft(
            description=line.description,
            product_id=line.product_id,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            discount_rate=line.discount_rate,
            account_code=line.account_code,
            tax_type=tax_type,
            line_amount=money_text(amount),
            tax_amount=money_text(line_tax(amount, rate, kind)),
            tracking=list(line.tracking),
        )

    def create_invoice(
        self,
        customer_id: str,
        lines: list[Line],
        *,
        date: dt.date | None = None,
        due_date: dt.date | None = None,
        line_amount_type: LineAmountType = "Exclusive",
        invoice_id: str | None = None,
        reference: str = "",
        branding_theme_id: str | None = None,
    ) -> str:
        """Queues a new invoice (or, with ``invoice_id`` of an existing one, an edit of it)."""
        invoice_id = invoice_id or _new_id()
        drafted = [self._draft_line(line, line_amount_type) for line in lines]
        totals = invoice_totals(
            [Decimal(li.line_amount) for li in drafted],
            [Decimal(li.tax_amount) for li in drafted],
            line_amount_type,
        )
        draft = InvoiceDraft(
            id=invoice_id,
            customer_id=customer_id,
            reference=reference,
            date=date or dt.date.today(),
            due_date=due_date,  # None: the server gives it one from payment terms
            line_amount_type=line_amount_type,
            lines=drafted,
            sub_total=money_text(totals.sub_total),
            total_tax=money_text(totals.total_tax),
            total=money_text(totals.total),
            branding_theme_id=branding_theme_id,
        )
        self.queue(UpsertInvoice(mutation_id=_new_id(), invoice=draft))
        return invoice_id

    def create_payment(
        self, invoice_id: str, amount: str, account_code: str | None = None, *, date: dt.date | None = None
    ) -> str:
        """Queues a payment; without ``account_code`` it goes to the organisation's bank account."""
        payment_id = _new_id()
        draft = PaymentDraft(
            id=payment_id,
            invoice_id=invoice_id,
            account_code=account_code,
            date=date or dt.date.today(),
            amount=amount,
        )
        self.queue(CreatePayment(mutation_id=_new_id(), payment=draft))
        return payment_id

    def void_invoice(self, invoice_id: str) -> None:
        self.queue(VoidInvoice(mutation_id=_new_id(), invoice_id=invoice_id))

    def email_invoice(self, invoice_id: str) -> str:
        """Ask that Xero email the invoice to its customer; returns the mutation id (its fate is the
        invoice's ``sync`` under this id)."""
        mutation_id = _new_id()
        self.queue(EmailInvoice(mutation_id=mutation_id, invoice_id=invoice_id))
        return mutation_id
