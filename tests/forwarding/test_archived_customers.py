"""A customer a Xero user archived cannot come back as a second copy from a phone that still has it.

Found by the randomized convergence test: a phone edited a customer after a Xero user had archived
it and the mirror had dropped it; the edit was taken for a new customer, created in Xero as a second
contact, and every later mirror pull of customers failed on the clash of the two copies.
"""

from __future__ import annotations

import msgspec

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import Customer, Invoice
from tests.fixtures.xero_connect import sync_and_wait
from tests.forwarding.conftest import SALES, Forwarding, settle


async def test_an_edit_of_a_customer_archived_in_xero_is_refused_and_the_mirror_keeps_pulling(
    forwarding: Forwarding, phone: Phone
) -> None:
    await phone.refresh()
    customers = [msgspec.json.decode(p, type=Customer) for p in phone.store.records("customer").values()]
    customer = next(c for c in customers if c.xero_id and c.email)
    contacts_before = len(forwarding.xero_org.contacts)

    # A Xero user archives the contact and the mirror learns it; the phone has not pulled since.
    with forwarding.sandbox.control() as control:
        archived = control.post(
            f"/organisations/{forwarding.xero_org.tenant_id}/contacts/{customer.xero_id}/archive"
        )
    assert archived.status_code == 200, archived.text
    run = await sync_and_wait(forwarding.admin, ["customers"])
    assert run["status"] == "succeeded", run["errors"]

    phone.edit_customer(customer.id, phone="021 555 0199")
    [result] = await phone.upload()
    assert result.status == "rejected"
    assert result.code == "unknown_customer"
    assert result.field == "customer.id"
    assert "archived" in result.message

    await settle(forwarding.admin)
    assert len(forwarding.xero_org.contacts) == contacts_before  # no second copy in Xero
    again = await sync_and_wait(forwarding.admin, ["customers"])
    assert again["status"] == "succeeded", again["errors"]
    await phone.refresh()
    assert phone.store.record("customer", customer.id) is None


async def test_an_invoice_whose_customer_is_archived_in_xero_before_it_is_sent_fails_naming_the_customer(
    forwarding: Forwarding, phone: Phone
) -> None:
    await phone.refresh()
    customers = [msgspec.json.decode(p, type=Customer) for p in phone.store.records("customer").values()]
    customer = next(c for c in customers if c.xero_id)
    # Xero takes no invoice writes for now: the phone's invoice stays on its way (retrying).
    with forwarding.sandbox.control() as control:
        fault = control.post("/faults", json={"kind": "status", "route": "PUT /api.xro/2.0/Invoices*"})
    assert fault.status_code == 201, fault.text
    invoice_id = phone.create_invoice(
        customer.id, [Line("1", "100.00", tax_type="OUTPUT2", account_code=SALES)]
    )
    [result] = await phone.upload()
    assert result.status == "applied"
    await settle(forwarding.admin, until=lambda counts: counts["retrying"] == 1)

    # Meanwhile a Xero user archives the customer, and the mirror drops it.
    with forwarding.sandbox.control() as control:
        archived = control.post(
            f"/organisations/{forwarding.xero_org.tenant_id}/contacts/{customer.xero_id}/archive"
        )
        assert archived.status_code == 200, archived.text
    run = await sync_and_wait(forwarding.admin, ["customers"])
    assert run["status"] == "succeeded", run["errors"]
    # Xero takes invoices again only once the mirror has dropped the customer: sooner, the retry
    # would send the invoice while the mirror still knew its customer.
    with forwarding.sandbox.control() as control:
        control.delete("/faults")

    # Its next attempt (after the backoff) finds the customer gone.
    counts = await settle(forwarding.admin, within=30, until=lambda counts: counts["failed"] == 1)
    assert (counts["retrying"], counts["failed"]) == (0, 1), counts
    assert forwarding.xero_invoices_for(invoice_id) == []
    await phone.refresh()
    invoice = msgspec.json.decode(phone.store.record("invoice", invoice_id) or b"", type=Invoice)
    assert invoice.sync is not None
    assert invoice.sync.state == "failed"
    assert invoice.sync.field == "invoice.customer_id"
    assert customer.id in invoice.sync.message
    assert "archived" in invoice.sync.message


async def test_an_edit_on_its_way_when_xero_archives_the_customer_fails_and_phones_drop_the_customer(
    forwarding: Forwarding, phone: Phone
) -> None:
    await phone.refresh()
    customers = [msgspec.json.decode(p, type=Customer) for p in phone.store.records("customer").values()]
    customer = next(c for c in customers if c.xero_id)
    assert customer.xero_id is not None
    # Xero takes no contact writes for now: the phone's edit stays on its way (retrying).
    with forwarding.sandbox.control() as control:
        fault = control.post("/faults", json={"kind": "status", "route": "POST /api.xro/2.0/Contacts*"})
    assert fault.status_code == 201, fault.text
    phone.edit_customer(customer.id, phone="021 555 0199")
    [result] = await phone.upload()
    assert result.status == "applied"
    await settle(forwarding.admin, until=lambda counts: counts["retrying"] == 1)

    # Meanwhile a Xero user archives the contact; the mirror pulls it while the edit is on its way.
    with forwarding.sandbox.control() as control:
        archived = control.post(
            f"/organisations/{forwarding.xero_org.tenant_id}/contacts/{customer.xero_id}/archive"
        )
        assert archived.status_code == 200, archived.text
    run = await sync_and_wait(forwarding.admin, ["customers"])
    assert run["status"] == "succeeded", run["errors"]
    with forwarding.sandbox.control() as control:
        control.delete("/faults")

    counts = await settle(forwarding.admin, within=30, until=lambda counts: counts["failed"] == 1)
    assert (counts["retrying"], counts["failed"]) == (0, 1), counts
    contact = forwarding.xero_org.contacts[customer.xero_id.lower()]
    assert contact["ContactStatus"] == "ARCHIVED"
    assert "021 555 0199" not in str(contact["Phones"])  # the edit was not sent
    [upload] = (await forwarding.admin.get("/admin/api/uploads", params={"state": "failed"})).json()[
        "uploads"
    ]
    assert upload["record_id"] == customer.id
    assert "archived in Xero" in upload["last_error"]
    await phone.refresh()
    assert phone.store.record("customer", customer.id) is None  # gone from phones, as Xero archived it
