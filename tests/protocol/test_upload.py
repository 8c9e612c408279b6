"""Uploading what a phone made offline, over a real server: once, whatever the network does."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import msgspec
import pytest
from sqlalchemy import func, select

from reference_client import Phone, UploadFailed
from reference_client.phone import Line
from server.core import fate
from server.core.outbox import forwardable_uploads
from server.db.database import Database
from server.db.sync_models import Upload
from sync_protocol.entities import Customer, Invoice, Payment
from tests.factories import customer, product, publish_entities, standard_mirror
from tests.fixtures.devices import NewPhone, server_records


class LoseResponses(httpx.AsyncBaseTransport):
    """Lets pushes reach the server, then loses the answer, as a dropped connection would."""

    def __init__(self, times: int) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.remaining = times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.url.path == "/mobile/v1/mutations" and self.remaining:
            await response.aread()
            await response.aclose()
            self.remaining -= 1
            raise httpx.ReadError("connection lost after the server answered", request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def a_day_offline(phone: Phone) -> tuple[str, str, str]:
    """A new customer, an invoice for them and a part payment, all made offline."""
    customer_id = phone.create_customer("Harbour Cafe")
    invoice_id = phone.create_invoice(
        customer_id,
        [
            Line("2", "49.95", product_id=product(1).id),
            Line("1", "120.00", discount_rate="10", tax_type="OUTPUT2"),
        ],
    )
    payment_id = phone.create_payment(invoice_id, "100.00", "090")
    return customer_id, invoice_id, payment_id


async def upload_count(database: Database) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Upload)) or 0)


def record(phone: Phone, cls: type[Customer] | type[Invoice] | type[Payment], entity: str, record_id: str):  # type: ignore[no-untyped-def]
    payload = phone.store.record(entity, record_id)
    assert payload is not None, f"{entity} {record_id} is not on the phone"
    return msgspec.json.decode(payload, type=cls)


async def test_a_lost_response_is_retried_and_every_record_is_held_once(
    new_phone: NewPhone, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    lossy = LoseResponses(times=1)
    phone = await new_phone(transport=lossy)
    await phone.refresh()
    customer_id, invoice_id, payment_id = a_day_offline(phone)

    results = await phone.upload()

    assert lossy.remaining == 0
    assert [(r.status, r.replayed) for r in results] == [("applied", True)] * 3
    assert await upload_count(server_db) == 3
    await phone.refresh()
    assert phone.store.records() == await server_records(server_db, acme_id)
    invoice = record(phone, Invoice, "invoice", invoice_id)
    assert (str(invoice.total), str(invoice.amount_due)) == ("239.09", "139.09")
    assert invoice.sync.state == "waiting"  # behind its new customer, not in Xero yet
    assert record(phone, Customer, "customer", customer_id).sync.state == "accepted"
    assert record(phone, Payment, "payment", payment_id).sync.state == "waiting"


async def test_an_upload_that_failed_outright_is_sent_again_later_with_the_same_ids(
    new_phone: NewPhone, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    lossy = LoseResponses(times=10)
    phone = await new_phone(transport=lossy)
    await phone.refresh()
    a_day_offline(phone)
    with pytest.raises(UploadFailed):
        await phone.upload(retries=2)
    assert phone.store.pending_count() == 3
    lossy.remaining = 0
    results = await phone.upload()
    assert [r.status for r in results] == ["applied"] * 3
    assert await upload_count(server_db) == 3


async def test_the_fate_the_forwarder_records_reaches_the_phone(
    new_phone: NewPhone, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    phone = await new_phone()
    await phone.refresh()
    customer_id, invoice_id, payment_id = a_day_offline(phone)
    await phone.upload()

    async with server_db.transaction() as session:
        [first] = await forwardable_uploads(session, acme_id)
        assert (first.kind, first.record_id) == ("upsert_customer", customer_id)
        await fate.record_fate(session, acme_id, first.upload_id, fate.Forwarding())
        await fate.record_fate(session, acme_id, first.upload_id, fate.InXero("xero-contact-1"))
        [second] = await forwardable_uploads(session, acme_id)
        assert second.record_id == invoice_id
        await fate.record_fate(session, acme_id, second.upload_id, fate.InXero("xero-inv-1", "INV-0042"))
        [third] = await forwardable_uploads(session, acme_id)
        await fate.record_fate(session, acme_id, third.upload_id, fate.Failed("Account 090 is archived"))
    await phone.refresh()

    customer_record = record(phone, Customer, "customer", customer_id)
    assert (customer_record.xero_id, customer_record.sync.state) == ("xero-contact-1", "in_xero")
    invoice = record(phone, Invoice, "invoice", invoice_id)
    assert (invoice.xero_id, invoice.invoice_number, invoice.sync.state) == (
        "xero-inv-1",
        "INV-0042",
        "in_xero",
    )
    payment = record(phone, Payment, "payment", payment_id)
    assert (payment.sync.state, payment.sync.message) == ("failed", "Account 090 is archived")


async def test_xero_side_facts_about_an_invoice_reach_the_phone(
    new_phone: NewPhone, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    phone = await new_phone()
    await phone.refresh()
    invoice_id = phone.create_invoice(customer(1).id, [Line("1", "10.00", tax_type="OUTPUT2")])
    await phone.upload()
    async with server_db.transaction() as session:
        await fate.record_invoice_facts(
            session,
            acme_id,
            invoice_id,
            status="PAID",
            amount_paid=Decimal("11.50"),
            amount_due=Decimal("0.00"),
        )
    await phone.refresh()
    invoice = record(phone, Invoice, "invoice", invoice_id)
    assert (invoice.status, str(invoice.amount_due)) == ("PAID", "0.00")


async def test_the_upload_status_endpoint_tells_where_an_upload_stands(
    new_phone: NewPhone, server_db: Database, acme_id: uuid.UUID, mobile: httpx.AsyncClient
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    phone = await new_phone()
    phone.create_customer("Harbour Cafe")
    [result] = await phone.upload()
    response = await mobile.get(f"/mobile/v1/uploads/{result.mutation_id}")
    assert response.status_code == 200
    assert response.json()["state"] == "accepted"
    assert (await mobile.get("/mobile/v1/uploads/no-such-mutation")).status_code == 404
