"""Invoices: numbering, references, validation wording, dates in and out, statuses, filters."""

from __future__ import annotations

import httpx

from tests.fixtures.sandbox import RunningSandbox
from tests.sandbox.support import (
    create_invoice,
    first_contact_id,
    invoice_body,
    line,
    send,
    validation_messages,
)


def test_invoice_numbers_run_in_sequence(xero: httpx.Client) -> None:
    contact_id = first_contact_id(xero)
    numbers = [create_invoice(xero, contact_id)["InvoiceNumber"] for _ in range(3)]
    assert numbers == ["INV-0001", "INV-0002", "INV-0003"]


def test_reference_and_url_are_stored_and_returned(xero: httpx.Client) -> None:
    created = create_invoice(
        xero, first_contact_id(xero), Reference="LS-42", Url="https://ledgersync.example/i/42"
    )
    got = xero.get(f"/Invoices/{created['InvoiceID']}").json()["Invoices"][0]
    assert (got["Reference"], got["Url"]) == ("LS-42", "https://ledgersync.example/i/42")


def test_invoice_number_filters_find_the_invoice(xero: httpx.Client) -> None:
    contact_id = first_contact_id(xero)
    create_invoice(xero, contact_id)
    second = create_invoice(xero, contact_id)
    by_where = xero.get("/Invoices", params={"where": 'InvoiceNumber=="INV-0002"'}).json()["Invoices"]
    by_list = xero.get("/Invoices", params={"InvoiceNumbers": "INV-0002"}).json()["Invoices"]
    assert [i["InvoiceID"] for i in by_where] == [i["InvoiceID"] for i in by_list] == [second["InvoiceID"]]


def test_contact_ids_and_statuses_filters(xero: httpx.Client) -> None:
    contacts = xero.get("/Contacts").json()["Contacts"]
    create_invoice(xero, contacts[0]["ContactID"], status="DRAFT")
    mine = create_invoice(xero, contacts[1]["ContactID"])
    found = xero.get("/Invoices", params={"ContactIDs": contacts[1]["ContactID"], "Statuses": "AUTHORISED"})
    assert [i["InvoiceID"] for i in found.json()["Invoices"]] == [mine["InvoiceID"]]


def test_get_by_invoice_number_in_path(xero: httpx.Client) -> None:
    created = create_invoice(xero, first_contact_id(xero))
    assert xero.get("/Invoices/INV-0001").json()["Invoices"][0]["InvoiceID"] == created["InvoiceID"]


def test_invalid_account_code_is_worded_as_xero(xero: httpx.Client) -> None:
    body = invoice_body(first_contact_id(xero), [line("10.00", account="999")])
    response = send(xero, "PUT", "/Invoices", {"Invoices": [body]})
    assert response.status_code == 400
    assert validation_messages(response) == ["Account code '999' is not a valid code for this document."]


def test_invalid_tax_type_is_worded_as_xero(xero: httpx.Client) -> None:
    body = invoice_body(first_contact_id(xero), [line("10.00", tax="XYZ")])
    assert validation_messages(send(xero, "PUT", "/Invoices", body)) == [
        "The TaxType code 'XYZ' does not exist or cannot be used for this type of transaction."
    ]


def test_archived_and_pending_tax_rates_cannot_be_used(xero: httpx.Client) -> None:
    for tax_type in ("TAX001", "TAX002", "TAX003"):
        body = invoice_body(first_contact_id(xero), [line("10.00", tax=tax_type)])
        assert send(xero, "PUT", "/Invoices", body).status_code == 400


def test_dates_accepted_as_iso_and_msdate_and_returned_as_msdate(xero: httpx.Client) -> None:
    contact_id = first_contact_id(xero)
    iso = create_invoice(xero, contact_id, Date="2024-03-05")
    ms = create_invoice(xero, contact_id, Date="/Date(1709596800000+0000)/")
    assert iso["Date"] == ms["Date"] == "/Date(1709596800000+0000)/"
    assert iso["DateString"] == "2024-03-05T00:00:00"


def test_unknown_contact_name_creates_the_contact(xero: httpx.Client) -> None:
    body = invoice_body("", [line("10.00")])
    body["Contact"] = {"Name": "Walk-in Customer"}
    send(xero, "PUT", "/Invoices", body)
    names = [
        c["Name"]
        for c in xero.get("/Contacts", params={"where": 'Name=="Walk-in Customer"'}).json()["Contacts"]
    ]
    assert names == ["Walk-in Customer"]


def test_summarize_errors_false_returns_each_invoice_result(xero: httpx.Client) -> None:
    contact_id = first_contact_id(xero)
    batch = {
        "Invoices": [
            invoice_body(contact_id, [line("10.00")]),
            invoice_body(contact_id, [line("10.00", account="999")]),
        ]
    }
    response = send(xero, "PUT", "/Invoices", batch, params={"summarizeErrors": "False"})
    assert response.status_code == 200
    assert [i["StatusAttributeString"] for i in response.json()["Invoices"]] == ["OK", "ERROR"]


def test_draft_to_authorised_to_voided(xero: httpx.Client) -> None:
    created = create_invoice(xero, first_contact_id(xero), status="DRAFT")
    path = f"/Invoices/{created['InvoiceID']}"
    assert xero.post(path, json={"Status": "AUTHORISED"}).json()["Invoices"][0]["Status"] == "AUTHORISED"
    voided = xero.post(path, json={"Status": "VOIDED"}).json()["Invoices"][0]
    assert (voided["Status"], voided["AmountDue"]) == ("VOIDED", 0)


def test_authorised_invoice_cannot_be_deleted(xero: httpx.Client) -> None:
    created = create_invoice(xero, first_contact_id(xero))
    assert xero.post(f"/Invoices/{created['InvoiceID']}", json={"Status": "DELETED"}).status_code == 400


def test_update_of_lines_recomputes_totals(xero: httpx.Client) -> None:
    created = create_invoice(xero, first_contact_id(xero), status="DRAFT")
    updated = send(xero, "POST", f"/Invoices/{created['InvoiceID']}", {"LineItems": [line("200.00")]})
    assert updated.json()["Invoices"][0]["Total"] == 230.0


def test_updated_date_utc_bumps_on_change(sandbox: RunningSandbox, xero: httpx.Client) -> None:
    created = create_invoice(xero, first_contact_id(xero))
    sandbox.handle.advance(2)
    updated = xero.post(f"/Invoices/{created['InvoiceID']}", json={"Reference": "changed"}).json()[
        "Invoices"
    ][0]
    assert updated["UpdatedDateUTC"] > created["UpdatedDateUTC"]


def test_invoices_page_and_if_modified_since(sandbox: RunningSandbox, xero: httpx.Client) -> None:
    contact_id = first_contact_id(xero)
    for _ in range(3):
        create_invoice(xero, contact_id)
    sandbox.handle.advance(10)
    moment = sandbox.handle.now().isoformat()
    sandbox.handle.advance(10)
    late = create_invoice(xero, contact_id)
    paged = xero.get("/Invoices", params={"page": "2", "pageSize": "2"}).json()
    assert paged["pagination"]["itemCount"] == 4
    assert len(paged["Invoices"]) == 2
    recent = xero.get("/Invoices", headers={"If-Modified-Since": moment}).json()["Invoices"]
    assert [i["InvoiceID"] for i in recent] == [late["InvoiceID"]]


def test_post_invoices_updates_by_number_and_creates_new(xero: httpx.Client) -> None:
    contact_id = first_contact_id(xero)
    existing = create_invoice(xero, contact_id, status="DRAFT")
    batch = {
        "Invoices": [
            {"InvoiceNumber": existing["InvoiceNumber"], "Reference": "via POST"},
            invoice_body(contact_id, [line("5.00")]),
        ]
    }
    updated, created = send(xero, "POST", "/Invoices", batch).json()["Invoices"]
    assert (updated["InvoiceID"], updated["Reference"]) == (existing["InvoiceID"], "via POST")
    assert created["InvoiceNumber"] == "INV-0002"


def test_where_compares_dates_and_amounts(xero: httpx.Client) -> None:
    contact_id = first_contact_id(xero)
    early = create_invoice(xero, contact_id, Date="2024-01-15")
    late = create_invoice(xero, contact_id, Date="2024-06-15", LineItems=[line("500.00")])
    after = xero.get("/Invoices", params={"where": "Date>=DateTime(2024,03,01)"}).json()["Invoices"]
    assert [i["InvoiceID"] for i in after] == [late["InvoiceID"]]
    small = xero.get("/Invoices", params={"where": 'Total<200 && Type=="ACCREC"'}).json()["Invoices"]
    assert [i["InvoiceID"] for i in small] == [early["InvoiceID"]]


def test_order_sorts_the_list(xero: httpx.Client) -> None:
    contact_id = first_contact_id(xero)
    first = create_invoice(xero, contact_id, Date="2024-01-15")
    second = create_invoice(xero, contact_id, Date="2024-06-15")
    ordered = xero.get("/Invoices", params={"order": "Date DESC"}).json()["Invoices"]
    assert [i["InvoiceID"] for i in ordered] == [second["InvoiceID"], first["InvoiceID"]]
