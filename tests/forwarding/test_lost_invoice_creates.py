"""A lost invoice create is found again even when Xero did not keep its Url backlink.

Xero has been reported to drop ``Url``; here the sandbox drops it on every invoice and forgets
Idempotency-Keys at once, and the connection is dropped after Xero committed the create. Only the
invoice's own contact, date, reference and total stand between the lost answer and a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from reference_client import Phone
from reference_client.phone import Line
from tests.fixtures.sandbox import RunningSandbox, sandbox_config, start_sandbox
from tests.fixtures.xero_spec import XeroSpec
from tests.forwarding.conftest import SALES, Forwarding, settle
from xero_sandbox.faults import FaultSpec


@pytest.fixture
def xero_sandbox(xero_spec: XeroSpec) -> Iterator[RunningSandbox]:
    config = sandbox_config(auto_consent=True, idempotency_window_seconds=1, keep_invoice_url=False)
    with ExitStack() as stack:
        yield start_sandbox(stack, config, xero_spec)


async def test_dropped_invoice_creates_without_url_are_reconciled_not_doubled(
    forwarding: Forwarding, phone: Phone
) -> None:
    customer = phone.create_customer("Url-less Customer")
    twins = [
        phone.create_invoice(
            customer, [Line("1", "40.00", tax_type="OUTPUT2", account_code=SALES)], reference=ref
        )
        for ref in ("job 1", "job 2")
    ]
    other = phone.create_invoice(customer, [Line("2", "15.00", tax_type="OUTPUT2", account_code=SALES)])
    drop = forwarding.sandbox.handle.add_fault(
        FaultSpec(kind="drop", route="PUT /api.xro/2.0/Invoices*", count=1)
    )
    assert {r.status for r in await phone.upload()} == {"applied"}

    counts = await settle(forwarding.admin)

    assert drop.exhausted
    assert counts["done"] == 4
    invoices = list(forwarding.xero_org.invoices.values())
    assert all("Url" not in invoice for invoice in invoices)
    assert sorted((i["Reference"], str(i["Total"])) for i in invoices) == [
        ("", "34.50"),
        ("job 1", "46.00"),
        ("job 2", "46.00"),
    ]
    uploads = (await forwarding.admin.get("/admin/api/uploads", params={"state": "done"})).json()["uploads"]
    linked = {u["record_id"]: u["xero_id"] for u in uploads if u["entity"] == "invoice"}
    assert set(linked) == {other, *twins}
    assert set(linked.values()) == {i["InvoiceID"] for i in invoices}  # each its own invoice
