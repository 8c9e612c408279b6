"""Details where the sandbox once answered differently from Xero (docs/xero.md, "known differences")."""

from __future__ import annotations

import re
import uuid

import httpx

from tests.sandbox.support import create_invoice, first_contact_id, invoice_body, line, send
from xero_sandbox.store import Organisation


def test_a_refused_contact_carries_has_validation_errors(xero: httpx.Client) -> None:
    response = send(
        xero,
        "PUT",
        "/Contacts",
        {"Contacts": [{"Name": "Bad mail", "EmailAddress": "nope"}]},
        params={"summarizeErrors": "false"},
    )
    (element,) = response.json()["Contacts"]
    assert element["HasValidationErrors"] is True
    assert element["ValidationErrors"] == [{"Message": "Email address must be valid."}]
    summarised = send(xero, "PUT", "/Contacts", {"Contacts": [{"Name": "Bad", "EmailAddress": "x"}]})
    assert summarised.status_code == 400
    assert summarised.json()["Elements"][0]["HasValidationErrors"] is True


def test_a_refused_invoice_carries_has_errors(xero: httpx.Client) -> None:
    body = invoice_body(first_contact_id(xero), [line("10.00", account="999")])
    response = send(xero, "PUT", "/Invoices", {"Invoices": [body]})
    assert response.status_code == 400
    assert response.json()["Elements"][0]["HasErrors"] is True


def test_more_than_52_ids_in_one_query_is_404(xero: httpx.Client) -> None:
    ids = [str(uuid.uuid4()) for _ in range(53)]
    assert xero.get("/Invoices", params={"IDs": ",".join(ids[:52])}).status_code == 200
    too_many = xero.get("/Invoices", params={"IDs": ",".join(ids)})
    assert too_many.status_code == 404
    assert xero.get("/Contacts", params={"IDs": ",".join(ids)}).status_code == 404


def test_unpaged_invoice_lists_leave_out_line_items(xero: httpx.Client) -> None:
    created = create_invoice(xero, first_contact_id(xero))

    (unpaged,) = xero.get("/Invoices").json()["Invoices"]
    (by_ids,) = xero.get("/Invoices", params={"IDs": created["InvoiceID"]}).json()["Invoices"]
    (paged,) = xero.get("/Invoices", params={"page": "1"}).json()["Invoices"]
    (single,) = xero.get(f"/Invoices/{created['InvoiceID']}").json()["Invoices"]

    assert "LineItems" not in unpaged
    assert "LineItems" not in by_ids
    assert unpaged["Total"] == paged["Total"] == 115.0
    assert len(paged["LineItems"]) == len(single["LineItems"]) == 1


def test_the_envelope_date_has_no_offset(xero: httpx.Client) -> None:
    body = xero.get("/Organisation").json()
    assert re.fullmatch(r"/Date\(\d+\)/", body["DateTimeUTC"])
    assert re.fullmatch(r"/Date\(\d+\+0000\)/", body["Organisations"][0]["CreatedDateUTC"])


def test_the_406_answer_names_its_charset_once(xero: httpx.Client) -> None:
    response = xero.get("/Contacts", headers={"Accept": "application/xml"})
    assert response.status_code == 406
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert xero.get("/Contacts/" + str(uuid.uuid4())).headers["content-type"] == "text/plain; charset=utf-8"


def test_an_invoice_url_xero_would_refuse_is_refused(xero: httpx.Client, xero_org: Organisation) -> None:
    contact_id = first_contact_id(xero)
    for bad in ("not a url", "ftp://files.example.com/x", "/admin/invoices/1", "https://"):
        body = invoice_body(contact_id, [line("10.00")], Url=bad)
        response = send(xero, "PUT", "/Invoices", {"Invoices": [body]})
        assert response.status_code == 400, bad
        assert response.json()["Elements"][0]["ValidationErrors"] == [
            {"Message": "Url must be a valid absolute URL."}
        ]
    good = create_invoice(xero, contact_id, Url="http://127.0.0.1:8000/admin/invoices/abc")
    assert good["Url"] == "http://127.0.0.1:8000/admin/invoices/abc"
    edit = send(xero, "POST", f"/Invoices/{good['InvoiceID']}", {"Url": "javascript:alert(1)"})
    assert edit.status_code == 400
    assert not any(i.get("Url", "").startswith("javascript") for i in xero_org.invoices.values())
