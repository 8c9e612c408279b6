"""Forwarded invoices stay mirrored: what happens to them in Xero reaches the phone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal

import msgspec
import pytest

from reference_client import Phone
from reference_client.phone import Line
from server.settings import Settings
from sync_protocol.entities import Invoice
from tests.fixtures.devices import NewPhone
from tests.fixtures.sandbox import RunningSandbox, sandbox_config, start_sandbox
from tests.fixtures.xero_connect import sync_and_wait
from tests.fixtures.xero_spec import XeroSpec
from tests.forwarding.conftest import SALES, Forwarding, settle
from xero_sandbox.config import Limits


async def forwarded_invoice(forwarding: Forwarding, phone: Phone, amount: str) -> tuple[str, str]:
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    invoice_id = phone.create_invoice(customer, [Line("1", amount, tax_type="OUTPUT2", account_code=SALES)])
    await phone.upload()
    await settle(forwarding.admin)
    return invoice_id, forwarding.xero_invoice_for(invoice_id)["InvoiceID"]


def invoice_on(phone: Phone, invoice_id: str) -> Invoice:
    return msgspec.json.decode(phone.store.record("invoice", invoice_id) or b"", type=Invoice)


async def test_a_payment_recorded_in_xero_reaches_the_phone_as_paid(
    forwarding: Forwarding, phone: Phone
) -> None:
    invoice_id, xero_id = await forwarded_invoice(forwarding, phone, "100.00")
    forwarding.sandbox.handle.user_record_payment(forwarding.xero_org.tenant_id, xero_id, Decimal("115.00"))

    run = await sync_and_wait(forwarding.admin, ["invoices"])
    await phone.refresh()

    assert run["status"] == "succeeded"
    paid = invoice_on(phone, invoice_id)
    assert paid.status == "PAID"
    assert paid.amount_due == Decimal("0.00")
    assert paid.amount_paid == Decimal("115.00")


async def test_a_part_payment_in_xero_reaches_the_phone_as_the_amount_due(
    forwarding: Forwarding, phone: Phone
) -> None:
    invoice_id, xero_id = await forwarded_invoice(forwarding, phone, "100.00")
    forwarding.sandbox.handle.user_record_payment(forwarding.xero_org.tenant_id, xero_id, Decimal("15.00"))

    await sync_and_wait(forwarding.admin, ["invoices"])
    await phone.refresh()

    part_paid = invoice_on(phone, invoice_id)
    assert part_paid.status == "AUTHORISED"
    assert part_paid.amount_due == Decimal("100.00")


async def test_a_void_in_xero_reaches_the_phone(forwarding: Forwarding, phone: Phone) -> None:
    invoice_id, xero_id = await forwarded_invoice(forwarding, phone, "40.00")
    forwarding.sandbox.handle.user_void_invoice(forwarding.xero_org.tenant_id, xero_id)

    await sync_and_wait(forwarding.admin)
    await phone.refresh()

    assert invoice_on(phone, invoice_id).status == "VOIDED"


async def test_a_xero_user_s_edit_of_an_invoice_s_reference_and_lines_reaches_the_phone_whole(
    forwarding: Forwarding, phone: Phone
) -> None:
    invoice_id, xero_id = await forwarded_invoice(forwarding, phone, "40.00")
    await phone.refresh()
    mine = invoice_on(phone, invoice_id)
    line = {
        "Description": "Parts",
        "Quantity": 2,
        "UnitAmount": 30,
        "AccountCode": SALES,
        "TaxType": "OUTPUT2",
    }
    forwarding.sandbox.handle.user_edit_invoice(
        forwarding.xero_org.tenant_id, xero_id, {"Reference": "Job 77", "LineItems": [line]}
    )

    await sync_and_wait(forwarding.admin)
    await phone.refresh()

    edited = invoice_on(phone, invoice_id)
    xero = forwarding.xero_org.invoices[xero_id.lower()]
    assert edited.reference == "Job 77"
    assert [(line.description, line.quantity, line.unit_amount) for line in edited.lines] == [
        ("Parts", Decimal(2), Decimal(30))
    ]
    assert (edited.total, edited.amount_due) == (xero["Total"], xero["AmountDue"]) == (Decimal("69.00"),) * 2
    assert (edited.id, edited.customer_id, edited.sync) == (mine.id, mine.customer_id, mine.sync)


async def test_a_pull_that_finds_an_invoice_as_the_phone_has_it_changes_nothing_for_phones(
    forwarding: Forwarding, phone: Phone
) -> None:
    invoice_id, _ = await forwarded_invoice(forwarding, phone, "40.00")
    await phone.refresh()
    before = phone.store.record("invoice", invoice_id)

    run = await sync_and_wait(forwarding.admin, ["invoices"])

    assert run["updated"] == 0, run
    await phone.refresh()
    assert phone.store.record("invoice", invoice_id) == before


async def test_a_phone_void_of_a_forwarded_invoice_voids_it_in_xero(
    forwarding: Forwarding, phone: Phone
) -> None:
    invoice_id, xero_id = await forwarded_invoice(forwarding, phone, "40.00")
    await phone.refresh()
    phone.void_invoice(invoice_id)

    await phone.upload()
    await settle(forwarding.admin)

    assert forwarding.xero_org.invoices[xero_id.lower()]["Status"] == "VOIDED"


async def test_a_phone_created_customer_is_not_doubled_by_the_next_mirror_pull(
    forwarding: Forwarding, phone: Phone
) -> None:
    customer_id = phone.create_customer("Brand New Customer Ltd")
    await phone.upload()
    await settle(forwarding.admin)

    await sync_and_wait(forwarding.admin, ["customers"])
    await phone.refresh()

    named = [
        record_id
        for (_, record_id), payload in phone.store.records("customer").items()
        if b"Brand New Customer Ltd" in payload
    ]
    assert named == [customer_id]


class TestXeroBusy:
    @pytest.fixture
    def xero_sandbox(self, xero_spec: XeroSpec) -> Iterator[RunningSandbox]:
        """Xero allows 4 calls a minute here (2 s of real time), far fewer than ledgersync assumes."""
        limits = Limits(concurrent=5, per_minute=4, per_day=100_000, app_per_minute=100_000)
        config = sandbox_config(auto_consent=True, limits=limits, time_scale=30.0)
        with ExitStack() as stack:
            yield start_sandbox(stack, config, xero_spec)

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.replace(forward_batch_size=1)  # one call per record: many calls

    async def test_a_429_delays_uploads_and_never_fails_them(
        self, forwarding: Forwarding, new_phone: NewPhone
    ) -> None:
        phone = await new_phone()
        await phone.refresh()
        [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
        for n in range(8):
            phone.create_invoice(customer, [Line("1", f"{n + 5}.00", tax_type="OUTPUT2", account_code=SALES)])
        await phone.upload()

        counts = await settle(forwarding.admin, within=120)

        assert counts["failed"] == 0
        assert counts["done"] == 8
        assert forwarding.sandbox.handle.limiter.rejected["minute"] > 0
