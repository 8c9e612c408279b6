"""Contacts: validation worded as Xero's, batches, archived visibility, filters, paging, If-Modified-Since."""

from __future__ import annotations

import httpx

from tests.fixtures.sandbox import RunningSandbox
from tests.sandbox.support import create_invoice, validation_messages
from xero_sandbox.store import Organisation


def _names(response: httpx.Response) -> list[str]:
    return [contact["Name"] for contact in response.json()["Contacts"]]


def test_create_contact_returns_it_with_id_and_status(xero: httpx.Client) -> None:
    response = xero.put(
        "/Contacts", json={"Contacts": [{"Name": "Acme Ltd", "EmailAddress": "a@acme.example"}]}
    )
    (contact,) = response.json()["Contacts"]
    assert contact["ContactStatus"] == "ACTIVE"
    assert contact["UpdatedDateUTC"].startswith("/Date(")
    assert xero.get(f"/Contacts/{contact['ContactID']}").json()["Contacts"][0]["Name"] == "Acme Ltd"


def test_duplicate_active_name_is_rejected_with_xero_wording(xero: httpx.Client) -> None:
    xero.put("/Contacts", json={"Contacts": [{"Name": "ABC"}]})
    response = xero.put("/Contacts", json={"Contacts": [{"Name": "ABC"}]})
    assert response.status_code == 400
    body = response.json()
    assert (body["ErrorNumber"], body["Type"], body["Message"]) == (
        10,
        "ValidationException",
        "A validation exception occurred",
    )
    assert validation_messages(response) == [
        "The contact name ABC is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    ]


def test_archived_contact_frees_its_name(xero: httpx.Client) -> None:
    contact = xero.put("/Contacts", json={"Name": "Reused"}).json()["Contacts"][0]
    xero.post(f"/Contacts/{contact['ContactID']}", json={"ContactStatus": "ARCHIVED"})
    assert xero.put("/Contacts", json={"Name": "Reused"}).status_code == 200


def test_an_archived_contact_is_edited_only_to_restore_it(xero: httpx.Client) -> None:
    contact = xero.put("/Contacts", json={"Name": "Archived Co"}).json()["Contacts"][0]
    url = f"/Contacts/{contact['ContactID']}"
    xero.post(url, json={"ContactStatus": "ARCHIVED"})

    refused = xero.post(url, json={"EmailAddress": "new@archived.example"})
    assert refused.status_code == 400
    assert validation_messages(refused) == [
        "The specified contact details matched an archived contact. "
        "Archived contacts cannot currently be edited via the API."
    ]
    restored = xero.post(url, json={"ContactStatus": "ACTIVE", "EmailAddress": "new@archived.example"})
    assert restored.status_code == 200
    assert restored.json()["Contacts"][0]["EmailAddress"] == "new@archived.example"


def test_invalid_email_is_rejected(xero: httpx.Client) -> None:
    response = xero.put("/Contacts", json={"Name": "Bad Mail", "EmailAddress": "not-an-email"})
    assert validation_messages(response) == ["Email address must be valid."]


def test_summarized_batch_fails_whole_and_creates_nothing(xero: httpx.Client) -> None:
    before = len(xero.get("/Contacts").json()["Contacts"])
    response = xero.put(
        "/Contacts", json={"Contacts": [{"Name": "Good One"}, {"Name": "Bad", "EmailAddress": "x"}]}
    )
    assert response.status_code == 400
    assert len(xero.get("/Contacts").json()["Contacts"]) == before


def test_summarize_errors_false_gives_per_element_results(xero: httpx.Client) -> None:
    response = xero.put(
        "/Contacts",
        params={"summarizeErrors": "false"},
        json={"Contacts": [{"Name": "Good One"}, {"Name": "Bad", "EmailAddress": "x"}]},
    )
    assert response.status_code == 200
    good, bad = response.json()["Contacts"]
    assert (good["StatusAttributeString"], good["ValidationErrors"]) == ("OK", [])
    assert (bad["StatusAttributeString"], bad["ValidationErrors"]) == (
        "ERROR",
        [{"Message": "Email address must be valid."}],
    )


def test_archived_and_gdpr_contacts_hidden_unless_include_archived(xero: httpx.Client) -> None:
    for name, status in (("Old Client", "ARCHIVED"), ("Forget Me", "GDPRREQUEST")):
        contact = xero.put("/Contacts", json={"Name": name}).json()["Contacts"][0]
        xero.post(f"/Contacts/{contact['ContactID']}", json={"ContactStatus": status})
    assert not {"Old Client", "Forget Me"} & set(_names(xero.get("/Contacts")))
    assert {"Old Client", "Forget Me"} <= set(
        _names(xero.get("/Contacts", params={"includeArchived": "True"}))
    )


def test_first_sales_invoice_makes_contact_a_customer(xero: httpx.Client) -> None:
    contact = xero.put("/Contacts", json={"Name": "Soon Customer"}).json()["Contacts"][0]
    assert contact["IsCustomer"] is False
    create_invoice(xero, contact["ContactID"])
    assert xero.get(f"/Contacts/{contact['ContactID']}").json()["Contacts"][0]["IsCustomer"] is True


def test_update_bumps_updated_date_utc(sandbox: RunningSandbox, xero: httpx.Client) -> None:
    contact = xero.put("/Contacts", json={"Name": "Changing"}).json()["Contacts"][0]
    sandbox.handle.advance(5)
    updated = xero.post(f"/Contacts/{contact['ContactID']}", json={"FirstName": "Ann"}).json()["Contacts"][0]
    assert updated["FirstName"] == "Ann"
    assert updated["UpdatedDateUTC"] > contact["UpdatedDateUTC"]


def test_where_filters_by_name_and_status(xero: httpx.Client) -> None:
    xero.put("/Contacts", json={"Name": "Needle"})
    found = xero.get("/Contacts", params={"where": 'Name=="Needle" && ContactStatus=="ACTIVE"'})
    assert _names(found) == ["Needle"]


def test_where_filters_by_contact_id_guid(xero: httpx.Client) -> None:
    contact = xero.put("/Contacts", json={"Name": "By Guid"}).json()["Contacts"][0]
    found = xero.get("/Contacts", params={"where": f'ContactID==guid("{contact["ContactID"]}")'})
    assert _names(found) == ["By Guid"]


def test_ids_filter_returns_exactly_those_contacts(xero: httpx.Client) -> None:
    ids = [c["ContactID"] for c in xero.get("/Contacts").json()["Contacts"][:3]]
    found = xero.get("/Contacts", params={"IDs": ",".join(ids)}).json()["Contacts"]
    assert sorted(c["ContactID"] for c in found) == sorted(ids)


def test_paging_reports_pagination_and_caps_page_size(
    sandbox: RunningSandbox, xero_org: Organisation, xero: httpx.Client
) -> None:
    sandbox.handle.add_contacts(xero_org.tenant_id, 1200)
    body = xero.get("/Contacts", params={"page": "1", "pageSize": "5000"}).json()
    assert len(body["Contacts"]) == 1000
    assert body["pagination"] == {"page": 1, "pageSize": 1000, "pageCount": 2, "itemCount": 1210}
    assert len(xero.get("/Contacts", params={"page": "2"}).json()["Contacts"]) == 100  # default pageSize 100


def test_if_modified_since_returns_only_later_changes(sandbox: RunningSandbox, xero: httpx.Client) -> None:
    sandbox.handle.advance(60)
    moment = sandbox.handle.now().strftime("%Y-%m-%dT%H:%M:%S")
    sandbox.handle.advance(60)
    xero.put("/Contacts", json={"Name": "Fresh"})
    assert _names(xero.get("/Contacts", headers={"If-Modified-Since": moment})) == ["Fresh"]


def test_unknown_contact_is_404(xero: httpx.Client) -> None:
    assert xero.get("/Contacts/00000000-0000-0000-0000-000000000000").status_code == 404


def test_paths_are_case_insensitive(xero: httpx.Client) -> None:
    assert xero.get("/contacts").status_code == 200
    assert xero.get("/CONTACTS").status_code == 200


def test_json_only_clients_must_ask_for_json(xero: httpx.Client) -> None:
    assert xero.get("/Contacts", headers={"Accept": "application/xml"}).status_code == 406


def test_post_contacts_updates_by_id_and_creates_the_rest(xero: httpx.Client) -> None:
    existing = xero.get("/Contacts").json()["Contacts"][0]
    response = xero.post(
        "/Contacts",
        json={
            "Contacts": [{"ContactID": existing["ContactID"], "LastName": "Updated"}, {"Name": "Brand New"}]
        },
    )
    updated, created = response.json()["Contacts"]
    assert (updated["ContactID"], updated["LastName"]) == (existing["ContactID"], "Updated")
    assert created["Name"] == "Brand New"


def test_unreadable_body_is_post_data_invalid(xero: httpx.Client) -> None:
    response = xero.put("/Contacts", content=b"{not json", headers={"Content-Type": "application/json"})
    body = response.json()
    assert (response.status_code, body["ErrorNumber"], body["Type"]) == (400, 14, "PostDataInvalidException")


def test_same_name_twice_in_one_summarized_batch_is_rejected(xero: httpx.Client) -> None:
    response = xero.put("/Contacts", json={"Contacts": [{"Name": "Twin"}, {"Name": "twin"}]})
    assert response.status_code == 400
    assert xero.get("/Contacts", params={"where": 'Name=="Twin"'}).json()["Contacts"] == []


def test_order_by_name_and_updated_date(xero: httpx.Client) -> None:
    names = _names(xero.get("/Contacts", params={"order": "Name ASC"}))
    assert names == sorted(names, key=str.lower)
    dates = [
        c["UpdatedDateUTC"]
        for c in xero.get("/Contacts", params={"order": "UpdatedDateUTC DESC"}).json()["Contacts"]
    ]
    assert dates == sorted(dates, reverse=True)
