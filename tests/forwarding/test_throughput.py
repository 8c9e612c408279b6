"""A large backlog goes to Xero in full batches, inside Xero's limits, without a single 429."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta

import pytest

from reference_client.phone import Line
from tests.fixtures.devices import NewPhone
from tests.fixtures.sandbox import RunningSandbox, sandbox_config, start_sandbox
from tests.fixtures.xero_spec import XeroSpec
from tests.forwarding.conftest import SALES, Forwarding, settle
from xero_sandbox.config import Limits


@pytest.fixture
def xero_sandbox(xero_spec: XeroSpec) -> Iterator[RunningSandbox]:
    """A sandbox with Xero's own limits, in real time: 5 concurrent, 60 a minute, 5,000 a day."""
    with ExitStack() as stack:
        yield start_sandbox(
            stack, sandbox_config(auto_consent=True, time_scale=1.0, limits=Limits()), xero_spec
        )


async def test_a_thousand_queued_invoices_reach_xero_in_twenty_calls_without_a_429(
    forwarding: Forwarding, new_phone: NewPhone
) -> None:
    phone = await new_phone(batch_size=500)
    await phone.refresh()
    [customer, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    invoices = [
        phone.create_invoice(
            customer, [Line("1", f"{10 + n % 90}.00", tax_type="OUTPUT2", account_code=SALES)]
        )
        for n in range(1000)
    ]

    assert {r.status for r in await phone.upload()} == {"applied"}
    counts = await settle(forwarding.admin, within=300)

    assert counts["done"] == 1000
    writes = forwarding.writes("/Invoices")
    assert len(writes) == 20
    assert all(len(w.request["Invoices"]) == 50 for w in writes)
    in_xero = [str(i.get("Url", "")).rsplit("/", 1)[-1] for i in forwarding.xero_org.invoices.values()]
    assert sorted(in_xero) == sorted(invoices)
    limiter = forwarding.sandbox.handle.limiter
    assert sum(limiter.rejected.values()) == 0
    assert limiter.max_in_flight[forwarding.xero_org.tenant_id] <= 5
    times = [w.at for w in forwarding.writes()]
    assert all(sum(1 for t in times if start <= t < start + timedelta(minutes=1)) <= 60 for start in times)
