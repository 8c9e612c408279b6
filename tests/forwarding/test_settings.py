"""Each forwarding setting changes what reaches Xero; changes are checked and logged."""

from __future__ import annotations

import msgspec

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import Customer, Invoice, OrganisationSettings, Payment
from sync_protocol.messages import CustomerDraft, UpsertCustomer
from tests.forwarding.conftest import BANK, OTHER_BANK, SALES, Forwarding, settle


def customers_of(phone: Phone) -> list[str]:
    return sorted(record_id for (_, record_id) in phone.store.records("customer"))


def record(phone: Phone, entity: str, record_id: str, kind: type[msgspec.Struct]) -> msgspec.Struct:
    return msgspec.json.decode(phone.store.record(entity, record_id) or b"", type=kind)


async def new_invoice_in_xero(forwarding: Forwarding, phone: Phone, amount: str = "100.00") -> str:
    [customer, *_] = customers_of(phone)
    invoice_id = phone.create_invoice(customer, [Line("1", amount, tax_type="OUTPUT2", account_code=SALES)])
    await phone.upload()
    await settle(forwarding.admin)
    await phone.refresh()
    return invoice_id


def rename(phone: Phone, customer_id: str, name: str) -> None:
    current = record(phone, "customer", customer_id, Customer)
    assert isinstance(current, Customer)
    draft = CustomerDraft(id=customer_id, name=name, email=current.email)
    phone.queue(UpsertCustomer(mutation_id=f"rename-{customer_id}-{name}"[:64], customer=draft))


async def test_payments_stay_on_the_server_when_forwarding_payments_is_off(
    forwarding: Forwarding, phone: Phone
) -> None:
    await forwarding.set(forward_payments=False)
    invoice_id = await new_invoice_in_xero(forwarding, phone)
    payment_id = phone.create_payment(invoice_id, "115.00")

    await phone.upload()
    await settle(forwarding.admin)

    assert forwarding.writes("/Payments") == []
    await phone.refresh()
    payment = record(phone, "payment", payment_id, Payment)
    assert isinstance(payment, Payment)
    assert payment.sync is not None
    assert payment.sync.state == "held"
    organisation = next(iter(phone.store.records("organisation").values()))
    assert msgspec.json.decode(organisation, type=OrganisationSettings).forward_payments is False


async def test_payments_go_to_the_chosen_bank_account(forwarding: Forwarding, phone: Phone) -> None:
    await forwarding.set(bank_account_code=BANK)
    invoice_id = await new_invoice_in_xero(forwarding, phone)
    phone.create_payment(invoice_id, "50.00")

    await phone.upload()
    await settle(forwarding.admin)

    [payment] = forwarding.xero_org.payments.values()
    assert forwarding.account_code(payment["Account"]["AccountID"]) == BANK


async def test_customer_edits_stay_local_when_updating_customers_is_off(
    forwarding: Forwarding, phone: Phone
) -> None:
    await forwarding.set(update_customers=False)
    [customer_id, *_] = customers_of(phone)
    before = {c["ContactID"]: c["Name"] for c in forwarding.xero_org.contacts.values()}
    rename(phone, customer_id, "Renamed On The Phone")

    await phone.upload()
    await settle(forwarding.admin)

    assert forwarding.writes("/Contacts") == []
    assert {c["ContactID"]: c["Name"] for c in forwarding.xero_org.contacts.values()} == before
    await phone.refresh()
    edited = record(phone, "customer", customer_id, Customer)
    assert isinstance(edited, Customer)
    assert edited.name == "Renamed On The Phone"
    assert edited.sync is not None
    assert edited.sync.state == "held"


async def test_customer_edits_reach_xero_when_updating_customers_is_on(
    forwarding: Forwarding, phone: Phone
) -> None:
    [customer_id, *_] = customers_of(phone)
    current = record(phone, "customer", customer_id, Customer)
    assert isinstance(current, Customer)
    rename(phone, customer_id, "Renamed In Xero Too")

    await phone.upload()
    await settle(forwarding.admin)

    assert [(e.method, e.path.rsplit("/", 1)[-1]) for e in forwarding.writes("/Contacts")] == [
        ("POST", "Contacts")
    ]
    contact = forwarding.xero_org.contacts[str(current.xero_id).lower()]
    assert contact["Name"] == "Renamed In Xero Too"
    assert forwarding.xero_contacts_named("Renamed In Xero Too") == [contact]  # updated, not a second contact


async def test_edits_to_an_invoice_in_xero_are_rejected_at_upload_when_invoice_edits_are_off(
    forwarding: Forwarding, phone: Phone
) -> None:
    await forwarding.set(forward_invoice_edits=False)
    invoice_id = await new_invoice_in_xero(forwarding, phone)
    [customer, *_] = customers_of(phone)
    phone.create_invoice(
        customer, [Line("2", "100.00", tax_type="OUTPUT2", account_code=SALES)], invoice_id=invoice_id
    )

    [result] = await phone.upload()

    assert result.status == "rejected"
    assert result.code == "invoice_edits_not_forwarded"
    assert result.field == "invoice.id"
    assert len(forwarding.writes("/Invoices")) == 1


async def test_edits_to_an_invoice_in_xero_update_it_when_invoice_edits_are_on(
    forwarding: Forwarding, phone: Phone
) -> None:
    invoice_id = await new_invoice_in_xero(forwarding, phone)
    [customer, *_] = customers_of(phone)
    phone.create_invoice(
        customer, [Line("2", "100.00", tax_type="OUTPUT2", account_code=SALES)], invoice_id=invoice_id
    )

    [result] = await phone.upload()
    await settle(forwarding.admin)

    assert result.status == "applied"
    assert [e.method for e in forwarding.writes("/Invoices")] == ["PUT", "POST"]
    [xero_invoice] = forwarding.xero_invoices_for(invoice_id)
    assert str(xero_invoice["Total"]) == "230.00"
    await phone.refresh()
    edited = record(phone, "invoice", invoice_id, Invoice)
    assert isinstance(edited, Invoice)
    assert str(edited.amount_due) == "230.00"


async def test_new_invoices_reach_xero_as_drafts_when_the_status_setting_is_draft(
    forwarding: Forwarding, phone: Phone
) -> None:
    await forwarding.set(invoice_status="DRAFT")

    invoice_id = await new_invoice_in_xero(forwarding, phone)

    [xero_invoice] = forwarding.xero_invoices_for(invoice_id)
    assert xero_invoice["Status"] == "DRAFT"
    on_phone = record(phone, "invoice", invoice_id, Invoice)
    assert isinstance(on_phone, Invoice)
    assert on_phone.status == "DRAFT"


async def test_new_invoices_reach_xero_authorised_by_default(forwarding: Forwarding, phone: Phone) -> None:
    invoice_id = await new_invoice_in_xero(forwarding, phone)

    [xero_invoice] = forwarding.xero_invoices_for(invoice_id)
    assert xero_invoice["Status"] == "AUTHORISED"


async def test_a_bank_account_setting_must_name_an_account_that_takes_payments(
    forwarding: Forwarding,
) -> None:
    response = await forwarding.admin.put("/admin/api/settings", json={"bank_account_code": SALES})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_account"
    assert error["details"]["field"] == "bank_account_code"
    assert "090" in error["message"]


async def test_a_revenue_account_setting_must_name_a_revenue_account(forwarding: Forwarding) -> None:
    response = await forwarding.admin.put("/admin/api/settings", json={"revenue_account_code": OTHER_BANK})

    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "revenue_account_code"


async def test_a_settings_change_is_in_the_sync_log_with_who_made_it_and_what_changed(
    forwarding: Forwarding,
) -> None:
    await forwarding.set(invoice_status="DRAFT", forward_payments=False)

    runs = (await forwarding.admin.get("/admin/api/sync-runs", params={"kind": "settings"})).json()["runs"]

    latest = runs[0]
    session = (await forwarding.admin.get("/admin/api/session")).json()
    assert latest["actor"] == session["email"]
    assert sorted(latest["details"]["changes"], key=lambda c: c["field"]) == [
        {"field": "forward_payments", "from": True, "to": False},
        {"field": "invoice_status", "from": "AUTHORISED", "to": "DRAFT"},
    ]


async def test_every_forwarding_run_is_in_the_sync_log_with_counts(
    forwarding: Forwarding, phone: Phone
) -> None:
    await new_invoice_in_xero(forwarding, phone)

    runs = (await forwarding.admin.get("/admin/api/sync-runs", params={"kind": "forward"})).json()["runs"]

    assert sum(run["created"] for run in runs) == 1
    assert all(run["status"] == "succeeded" for run in runs)
    assert sum(run["xero_calls"] for run in runs) >= 1


async def test_phones_see_every_setting_that_changes_what_they_may_do(
    forwarding: Forwarding, phone: Phone
) -> None:
    await forwarding.set(
        forward_invoice_edits=False,
        update_customers=False,
        update_products=False,
        bank_account_code=BANK,
        revenue_account_code=SALES,
        invoice_status="DRAFT",
    )
    await phone.refresh()

    [payload] = phone.store.records("organisation").values()
    organisation = msgspec.json.decode(payload, type=OrganisationSettings)
    assert (
        organisation.forward_invoice_edits,
        organisation.update_customers,
        organisation.update_products,
        organisation.bank_account_code,
        organisation.revenue_account_code,
        organisation.invoice_status,
    ) == (False, False, False, BANK, SALES, "DRAFT")

    await forwarding.set(bank_account_code=None)
    await phone.refresh()
    [payload] = phone.store.records("organisation").values()
    assert msgspec.json.decode(payload, type=OrganisationSettings).bank_account_code is None
