"""Edits are changes, not snapshots: a phone's edit and a Xero user's edit of one customer both survive.

The Xero user edits through the sandbox's control API (as in Xero's own UI); phones edit through
the reference client (native protocol) or WatermelonDB's push; the mirror pulls on Sync now.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import msgspec

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import Customer, Invoice
from tests.admin_console.conftest import Console
from tests.fixtures.devices import NewPhone, PairedDevice
from tests.fixtures.servers import ADMIN
from tests.fixtures.xero_connect import sync_and_wait
from tests.forwarding.conftest import SALES, Forwarding, settle


def customer_on(phone: Phone, customer_id: str) -> Customer:
    return msgspec.json.decode(phone.store.record("customer", customer_id) or b"", type=Customer)


async def with_a_phone_number(forwarding: Forwarding) -> str:
    """A contact with an email and (given by a Xero user) a phone number, mirrored."""
    [contact_id, *_] = sorted(
        c["ContactID"] for c in forwarding.xero_org.contacts.values() if c["EmailAddress"]
    )
    xero_user_edits(forwarding, contact_id, Phones=[{"PhoneType": "DEFAULT", "PhoneNumber": "09 555 0100"}])
    run = await sync_and_wait(forwarding.admin, ["customers"])
    assert run["status"] == "succeeded", run["errors"]
    return contact_id


async def a_customer_in_xero(forwarding: Forwarding, phone: Phone) -> tuple[str, Customer]:
    """A mirrored customer with an email and a phone number, as the phone has it after a sync."""
    contact_id = await with_a_phone_number(forwarding)
    await phone.refresh()
    for payload in phone.store.records("customer").values():
        customer = msgspec.json.decode(payload, type=Customer)
        if customer.xero_id == contact_id:
            assert customer.email
            assert customer.phone == "09 555 0100"
            return contact_id, customer
    raise AssertionError(f"contact {contact_id} is not on the phone")


def xero_user_edits(forwarding: Forwarding, contact_id: str, **fields: Any) -> None:
    with forwarding.sandbox.control() as control:
        response = control.post(
            f"/organisations/{forwarding.xero_org.tenant_id}/contacts/{contact_id}", json=fields
        )
    assert response.status_code == 200, response.text


def phone_number_in_xero(contact: dict[str, Any]) -> str:
    return next((p["PhoneNumber"] for p in contact["Phones"] if p["PhoneType"] == "DEFAULT"), "")


async def test_a_xero_rename_and_a_phone_edit_of_the_phone_number_both_survive_in_xero_mirror_and_phones(
    forwarding: Forwarding, phone: Phone, new_phone: NewPhone
) -> None:
    contact_id, customer = await a_customer_in_xero(forwarding, phone)
    # After the phone's last sync, a Xero user renames the customer; no mirror pull follows.
    xero_user_edits(forwarding, contact_id, Name="Renamed In Xero Ltd")
    phone.edit_customer(customer.id, phone="021 555 0101")

    [result] = await phone.upload()
    assert result.status == "applied", result
    await settle(forwarding.admin)

    contact = forwarding.xero_org.contacts[contact_id]
    assert contact["Name"] == "Renamed In Xero Ltd"
    assert phone_number_in_xero(contact) == "021 555 0101"
    assert contact["EmailAddress"] == customer.email  # untouched fields stay as they were
    await phone.refresh()
    on_phone = customer_on(phone, customer.id)
    assert (on_phone.name, on_phone.phone, on_phone.email) == (
        "Renamed In Xero Ltd",
        "021 555 0101",
        customer.email,
    )
    assert on_phone.sync is not None
    assert on_phone.sync.state == "in_xero"
    assert on_phone.sync.message == ""  # no field was changed on both sides

    # The next mirror pull agrees, and a phone that pulls from scratch sees the same.
    run = await sync_and_wait(forwarding.admin, ["customers"])
    assert run["status"] == "succeeded", run["errors"]
    await phone.refresh()
    assert customer_on(phone, customer.id).name == "Renamed In Xero Ltd"
    assert customer_on(phone, customer.id).phone == "021 555 0101"
    fresh = await new_phone("Second Phone")
    await fresh.refresh()
    assert (customer_on(fresh, customer.id).name, customer_on(fresh, customer.id).phone) == (
        "Renamed In Xero Ltd",
        "021 555 0101",
    )
    assert (await forwarding.admin.get("/admin/api/conflicts")).json()["total"] == 0


async def test_a_field_both_changed_is_a_recorded_conflict_xero_wins_and_the_admin_can_apply_the_phones(
    forwarding: Forwarding, phone: Phone
) -> None:
    contact_id, customer = await a_customer_in_xero(forwarding, phone)
    xero_user_edits(forwarding, contact_id, EmailAddress="office@xero-side.example")
    phone.edit_customer(customer.id, email="field@phone-side.example", first_name="Mere")

    await phone.upload()
    await settle(forwarding.admin)

    contact = forwarding.xero_org.contacts[contact_id]
    assert contact["EmailAddress"] == "office@xero-side.example"  # Xero wins by default
    assert contact["FirstName"] == "Mere"  # the phone's other change went through
    await phone.refresh()
    on_phone = customer_on(phone, customer.id)
    assert (on_phone.email, on_phone.first_name) == ("office@xero-side.example", "Mere")
    assert on_phone.sync is not None
    assert on_phone.sync.state == "in_xero"
    assert "email" in on_phone.sync.message
    assert "Xero" in on_phone.sync.message

    page = (await forwarding.admin.get("/admin/api/conflicts")).json()
    assert page["total"] == 1
    [conflict] = page["conflicts"]
    assert {
        k: conflict[k] for k in ("entity", "record_id", "field", "phone_value", "xero_value", "resolution")
    } == {
        "entity": "customer",
        "record_id": customer.id,
        "field": "email",
        "phone_value": "field@phone-side.example",
        "xero_value": "office@xero-side.example",
        "resolution": "xero",
    }
    assert conflict["applied_at"] is None
    # The console's Conflicts page shows both values, with a button to apply the phone's.
    async with httpx.AsyncClient(base_url=str(forwarding.admin.base_url), timeout=30) as browser:
        console = Console(browser)
        assert (await console.sign_in(ADMIN.email, ADMIN.password)).status_code == 303
        shown = await console.open("/admin/conflicts")
        assert shown.status_code == 200, shown.text
        assert "field@phone-side.example" in shown.text
        assert "office@xero-side.example" in shown.text
        assert f"/admin/conflicts/{conflict['id']}/apply-phone" in shown.text

    applied = await forwarding.admin.post(f"/admin/api/conflicts/{conflict['id']}/apply-phone")
    assert applied.status_code == 202, applied.text
    assert applied.json()["applied_at"] is not None
    await settle(forwarding.admin)
    assert forwarding.xero_org.contacts[contact_id]["EmailAddress"] == "field@phone-side.example"
    assert forwarding.xero_org.contacts[contact_id]["FirstName"] == "Mere"
    await phone.refresh()
    assert customer_on(phone, customer.id).email == "field@phone-side.example"
    again = await forwarding.admin.post(f"/admin/api/conflicts/{conflict['id']}/apply-phone")
    assert again.status_code == 409, again.text


async def test_with_the_phone_wins_policy_a_field_both_changed_takes_the_phones_value_and_is_recorded(
    forwarding: Forwarding, phone: Phone
) -> None:
    settings = await forwarding.set(conflict_policy="phone")
    assert settings.json()["conflict_policy"] == "phone"
    contact_id, customer = await a_customer_in_xero(forwarding, phone)
    xero_user_edits(forwarding, contact_id, EmailAddress="office@xero-side.example")
    phone.edit_customer(customer.id, email="field@phone-side.example")

    await phone.upload()
    await settle(forwarding.admin)

    assert forwarding.xero_org.contacts[contact_id]["EmailAddress"] == "field@phone-side.example"
    [conflict] = (await forwarding.admin.get("/admin/api/conflicts")).json()["conflicts"]
    assert (conflict["field"], conflict["resolution"]) == ("email", "phone")


async def test_clearing_an_email_on_a_phone_clears_it_in_xero_and_it_stays_cleared_after_a_mirror_pull(
    forwarding: Forwarding, phone: Phone
) -> None:
    contact_id, customer = await a_customer_in_xero(forwarding, phone)
    phone.edit_customer(customer.id, email="", phone="")

    await phone.upload()
    await settle(forwarding.admin)

    contact = forwarding.xero_org.contacts[contact_id]
    assert contact["EmailAddress"] == ""
    assert phone_number_in_xero(contact) == ""
    assert contact["Name"] == customer.name
    run = await sync_and_wait(forwarding.admin, ["customers"])
    assert run["status"] == "succeeded", run["errors"]
    await phone.refresh()
    on_phone = customer_on(phone, customer.id)
    assert (on_phone.email, on_phone.phone, on_phone.name) == ("", "", customer.name)


async def test_a_mirror_pull_while_a_phone_edit_is_on_its_way_shows_both_edits_and_loses_neither(
    forwarding: Forwarding, phone: Phone
) -> None:
    contact_id, customer = await a_customer_in_xero(forwarding, phone)
    # Xero takes no contact writes for now: the phone's edit stays on its way (retrying).
    with forwarding.sandbox.control() as control:
        fault = control.post("/faults", json={"kind": "status", "route": "POST */Contacts*", "status": 503})
    assert fault.status_code in (200, 201), fault.text
    phone.edit_customer(customer.id, phone="021 555 0199")
    await phone.upload()
    await settle(forwarding.admin, until=lambda counts: counts["retrying"] == 1)
    xero_user_edits(forwarding, contact_id, Name="Renamed While In Flight Ltd")

    run = await sync_and_wait(forwarding.admin, ["customers"])
    assert run["status"] == "succeeded", run["errors"]
    await phone.refresh()
    on_phone = customer_on(phone, customer.id)
    assert (on_phone.name, on_phone.phone) == ("Renamed While In Flight Ltd", "021 555 0199")
    assert on_phone.sync is not None
    assert on_phone.sync.state == "retrying"

    with forwarding.sandbox.control() as control:
        control.delete("/faults")
    await settle(forwarding.admin)
    contact = forwarding.xero_org.contacts[contact_id]
    assert (contact["Name"], phone_number_in_xero(contact)) == ("Renamed While In Flight Ltd", "021 555 0199")
    await phone.refresh()
    on_phone = customer_on(phone, customer.id)
    assert (on_phone.name, on_phone.phone, on_phone.sync and on_phone.sync.state) == (
        "Renamed While In Flight Ltd",
        "021 555 0199",
        "in_xero",
    )


# --- WatermelonDB ------------------------------------------------------------------------------

PULL = "/mobile/v1/watermelon/pull"
PUSH = "/mobile/v1/watermelon/push"


async def test_a_watermelondb_push_of_changed_columns_sends_only_those_and_keeps_a_xero_rename(
    forwarding: Forwarding, mobile: httpx.AsyncClient, device: PairedDevice
) -> None:
    contact_id = await with_a_phone_number(forwarding)
    pulled = (await mobile.get(PULL, params={"last_pulled_at": "null"})).json()
    [row] = [r for r in pulled["changes"]["customers"]["created"] if r["xero_id"] == contact_id]
    xero_user_edits(forwarding, contact_id, Name="Renamed In Xero Ltd")
    # The app cleared the email and changed the phone; its row still has the name it pulled.
    edited = {**row, "email": "", "phone": "09 555 0102", "_status": "updated", "_changed": "email,phone"}

    response = await mobile.post(
        PUSH,
        params={"last_pulled_at": pulled["timestamp"]},
        json={"customers": {"created": [], "updated": [edited], "deleted": []}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["experimentalRejectedIds"] == {}
    await settle(forwarding.admin)

    contact = forwarding.xero_org.contacts[contact_id]
    assert (contact["Name"], contact["EmailAddress"], phone_number_in_xero(contact)) == (
        "Renamed In Xero Ltd",
        "",
        "09 555 0102",
    )
    again = (await mobile.get(PULL, params={"last_pulled_at": pulled["timestamp"]})).json()
    [back] = [r for r in again["changes"]["customers"]["updated"] if r["id"] == row["id"]]
    assert (back["name"], back["email"], back["phone"], back["sync_state"]) == (
        "Renamed In Xero Ltd",
        "",
        "09 555 0102",
        "in_xero",
    )


async def test_an_edit_whose_only_field_xero_also_changed_makes_no_write_and_the_phone_gets_xeros_value(
    forwarding: Forwarding, phone: Phone
) -> None:
    contact_id, customer = await a_customer_in_xero(forwarding, phone)
    xero_user_edits(forwarding, contact_id, Name="Renamed In Xero Ltd")
    phone.edit_customer(customer.id, name="Renamed On The Phone Ltd")
    writes = len(forwarding.writes("/Contacts"))

    await phone.upload()
    await settle(forwarding.admin)

    assert len(forwarding.writes("/Contacts")) == writes
    assert forwarding.xero_org.contacts[contact_id]["Name"] == "Renamed In Xero Ltd"
    await phone.refresh()
    on_phone = customer_on(phone, customer.id)
    assert on_phone.name == "Renamed In Xero Ltd"
    assert on_phone.sync is not None
    assert (on_phone.sync.state, on_phone.sync.message) == (
        "in_xero",
        "edited in Xero at the same time; name: Xero's value kept",
    )


# --- invoices: top-level fields ------------------------------------------------------------------


async def an_invoice_in_xero(forwarding: Forwarding, phone: Phone) -> tuple[str, str]:
    """(record id, Xero id) of an invoice the phone made, in Xero and pulled back."""
    [customer_id, *_] = sorted(record_id for (_, record_id) in phone.store.records("customer"))
    invoice_id = phone.create_invoice(
        customer_id, [Line("1", "100.00", tax_type="OUTPUT2", account_code=SALES)], reference="Job 7"
    )
    await phone.upload()
    await settle(forwarding.admin)
    await phone.refresh()
    return invoice_id, str(forwarding.xero_invoice_for(invoice_id)["InvoiceID"])


def xero_user_edits_invoice(forwarding: Forwarding, invoice_id: str, **fields: Any) -> None:
    with forwarding.sandbox.control() as control:
        response = control.post(
            f"/organisations/{forwarding.xero_org.tenant_id}/invoices/{invoice_id}", json=fields
        )
    assert response.status_code == 200, response.text


def invoice_on(phone: Phone, invoice_id: str) -> Invoice:
    return msgspec.json.decode(phone.store.record("invoice", invoice_id) or b"", type=Invoice)


async def test_a_xero_edit_of_an_invoice_reference_survives_a_phone_edit_of_its_due_date(
    forwarding: Forwarding, phone: Phone
) -> None:
    invoice_id, xero_id = await an_invoice_in_xero(forwarding, phone)
    xero_user_edits_invoice(forwarding, xero_id, Reference="PO 7781")
    due = invoice_on(phone, invoice_id).date + dt.timedelta(days=30)
    phone.edit_invoice(invoice_id, due_date=due)

    [result] = await phone.upload()
    assert result.status == "applied", result
    await settle(forwarding.admin)

    invoice = forwarding.xero_invoice_for(invoice_id)
    assert invoice["Reference"] == "PO 7781"
    assert invoice["DueDate"] == due
    assert len(invoice["LineItems"]) == 1
    await phone.refresh()
    on_phone = invoice_on(phone, invoice_id)
    assert (on_phone.reference, on_phone.due_date) == ("PO 7781", due)
    assert on_phone.sync is not None
    assert (on_phone.sync.state, on_phone.sync.message) == ("in_xero", "")


async def test_an_invoice_reference_both_changed_is_a_conflict_xero_wins_and_the_admin_applies_the_phones(
    forwarding: Forwarding, phone: Phone
) -> None:
    invoice_id, xero_id = await an_invoice_in_xero(forwarding, phone)
    xero_user_edits_invoice(forwarding, xero_id, Reference="PO 7781")
    phone.edit_invoice(invoice_id, reference="Job 7 - kitchen")

    await phone.upload()
    await settle(forwarding.admin)

    assert forwarding.xero_invoice_for(invoice_id)["Reference"] == "PO 7781"
    await phone.refresh()
    on_phone = invoice_on(phone, invoice_id)
    assert on_phone.reference == "PO 7781"
    assert on_phone.sync is not None
    assert on_phone.sync.message == "edited in Xero at the same time; reference: Xero's value kept"
    [conflict] = (await forwarding.admin.get("/admin/api/conflicts")).json()["conflicts"]
    assert (conflict["entity"], conflict["record_id"], conflict["field"]) == (
        "invoice",
        invoice_id,
        "reference",
    )
    assert (conflict["phone_value"], conflict["xero_value"], conflict["resolution"]) == (
        "Job 7 - kitchen",
        "PO 7781",
        "xero",
    )

    applied = await forwarding.admin.post(f"/admin/api/conflicts/{conflict['id']}/apply-phone")
    assert applied.status_code == 202, applied.text
    await settle(forwarding.admin)
    assert forwarding.xero_invoice_for(invoice_id)["Reference"] == "Job 7 - kitchen"
    await phone.refresh()
    assert invoice_on(phone, invoice_id).reference == "Job 7 - kitchen"
