"""Tracking categories and branding themes: read as Xero serves them, set by a user, used on invoices."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.sandbox import RunningSandbox
from tests.sandbox.support import first_contact_id, invoice_body, line, send
from xero_sandbox.store import Organisation


def _category(sandbox: RunningSandbox, org: Organisation, name: str, options: list[str]) -> dict[str, Any]:
    response = sandbox.control().post(
        f"/organisations/{org.tenant_id}/tracking-categories", json={"Name": name, "Options": options}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _option(category: dict[str, Any], name: str) -> dict[str, Any]:
    return next(option for option in category["Options"] if option["Name"] == name)


def test_an_organisation_starts_with_its_default_theme_and_no_categories(xero: httpx.Client) -> None:
    (theme,) = xero.get("/BrandingThemes").json()["BrandingThemes"]
    assert (theme["Name"], theme["SortOrder"], theme["Type"]) == ("Standard", 0, "INVOICE")
    assert xero.get(f"/BrandingThemes/{theme['BrandingThemeID']}").json()["BrandingThemes"][0] == theme
    assert xero.get("/TrackingCategories").json()["TrackingCategories"] == []


def test_categories_with_options_and_archived_ones_on_request(
    sandbox: RunningSandbox, xero_org: Organisation, xero: httpx.Client
) -> None:
    region = _category(sandbox, xero_org, "Region", ["North", "South"])
    control = sandbox.control()
    base = f"/organisations/{xero_org.tenant_id}/tracking-categories/{region['TrackingCategoryID']}"
    south = _option(region, "South")
    assert control.post(f"{base}/options/{south['TrackingOptionID']}", json={"Status": "ARCHIVED"}).is_success
    (listed,) = xero.get("/TrackingCategories").json()["TrackingCategories"]
    assert [o["Name"] for o in listed["Options"]] == ["North"]
    (everything,) = xero.get("/TrackingCategories", params={"includeArchived": "true"}).json()[
        "TrackingCategories"
    ]
    assert {o["Name"]: o["Status"] for o in everything["Options"]} == {"North": "ACTIVE", "South": "ARCHIVED"}
    one = xero.get(f"/TrackingCategories/{region['TrackingCategoryID']}").json()["TrackingCategories"]
    assert one[0]["Name"] == "Region"


def test_at_most_two_active_categories(sandbox: RunningSandbox, xero_org: Organisation) -> None:
    _category(sandbox, xero_org, "Region", ["North"])
    job = _category(sandbox, xero_org, "Job", ["A"])
    third = sandbox.control().post(
        f"/organisations/{xero_org.tenant_id}/tracking-categories", json={"Name": "Team", "Options": []}
    )
    assert third.status_code == 400
    control = sandbox.control()
    archived = control.post(
        f"/organisations/{xero_org.tenant_id}/tracking-categories/{job['TrackingCategoryID']}",
        json={"Status": "ARCHIVED"},
    )
    assert archived.json()["Status"] == "ARCHIVED"
    assert _category(sandbox, xero_org, "Team", [])["Status"] == "ACTIVE"


def test_an_invoice_keeps_its_tracking_and_theme_and_gets_the_default_theme(
    sandbox: RunningSandbox, xero_org: Organisation, xero: httpx.Client
) -> None:
    region = _category(sandbox, xero_org, "Region", ["North", "South"])
    north = _option(region, "North")
    theme = sandbox.control().post(
        f"/organisations/{xero_org.tenant_id}/branding-themes", json={"Name": "Field jobs"}
    )
    assert theme.status_code == 201
    tracked = line(
        "10.00",
        Tracking=[
            {
                "TrackingCategoryID": region["TrackingCategoryID"],
                "TrackingOptionID": north["TrackingOptionID"],
            }
        ],
    )
    contact_id = first_contact_id(xero)
    body = invoice_body(contact_id, [tracked], BrandingThemeID=theme.json()["BrandingThemeID"])
    created = send(xero, "PUT", "/Invoices", {"Invoices": [body]}).json()["Invoices"][0]
    assert created["BrandingThemeID"] == theme.json()["BrandingThemeID"]
    assert created["LineItems"][0]["Tracking"] == [
        {
            "TrackingCategoryID": region["TrackingCategoryID"],
            "TrackingOptionID": north["TrackingOptionID"],
            "Name": "Region",
            "Option": "North",
        }
    ]
    by_name = line("10.00", Tracking=[{"Name": "region", "Option": "north"}])
    plain = send(xero, "PUT", "/Invoices", {"Invoices": [invoice_body(contact_id, [by_name])]}).json()
    default = xero.get("/BrandingThemes").json()["BrandingThemes"][0]["BrandingThemeID"]
    assert plain["Invoices"][0]["BrandingThemeID"] == default
    assert (
        plain["Invoices"][0]["LineItems"][0]["Tracking"][0]["TrackingOptionID"] == north["TrackingOptionID"]
    )


def test_archived_or_unknown_tracking_and_unknown_themes_are_refused(
    sandbox: RunningSandbox, xero_org: Organisation, xero: httpx.Client
) -> None:
    region = _category(sandbox, xero_org, "Region", ["North", "South"])
    south = _option(region, "South")
    base = f"/organisations/{xero_org.tenant_id}/tracking-categories/{region['TrackingCategoryID']}"
    sandbox.control().post(f"{base}/options/{south['TrackingOptionID']}", json={"Status": "ARCHIVED"})
    contact_id = first_contact_id(xero)

    def refused(body: dict[str, Any]) -> list[str]:
        response = send(xero, "PUT", "/Invoices", {"Invoices": [body]}, params={"summarizeErrors": "false"})
        assert response.status_code == 200
        (element,) = response.json()["Invoices"]
        assert element["HasErrors"] is True
        return [error["Message"] for error in element["ValidationErrors"]]

    archived = line(
        "10.00",
        Tracking=[
            {
                "TrackingCategoryID": region["TrackingCategoryID"],
                "TrackingOptionID": south["TrackingOptionID"],
            }
        ],
    )
    assert refused(invoice_body(contact_id, [archived])) == [
        "The tracking option 'South' of tracking category 'Region' is archived and cannot be used."
    ]
    unknown = line("10.00", Tracking=[{"Name": "Region", "Option": "East"}])
    assert refused(invoice_body(contact_id, [unknown])) == [
        "The tracking option 'East' could not be found in tracking category 'Region'."
    ]
    theme = "00000000-0000-0000-0000-000000000001"
    assert refused(invoice_body(contact_id, [line("1.00")], BrandingThemeID=theme)) == [
        f"The branding theme with ID '{theme}' could not be found."
    ]
