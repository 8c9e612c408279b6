"""Tracking options and branding themes on a phone's invoice: pulled from the mirror, checked at the
door, forwarded as Xero's line ``Tracking`` and ``BrandingThemeID``; Xero's refusal in the fate."""

from __future__ import annotations

from typing import Any

import msgspec

from reference_client import Phone
from reference_client.phone import Line
from sync_protocol.entities import BrandingTheme, Invoice, TrackingCategory, TrackingOption
from tests.fixtures.xero_connect import sync_and_wait
from tests.forwarding.conftest import SALES, Forwarding, settle
from tests.forwarding.test_products import create_product, items_with_code, phone_product
from tests.forwarding.test_upload_status import upload_status


def add_category(forwarding: Forwarding, name: str, options: list[str]) -> dict[str, Any]:
    response = forwarding.sandbox.control().post(
        f"/organisations/{forwarding.xero_org.tenant_id}/tracking-categories",
        json={"Name": name, "Options": options},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def archive_option(forwarding: Forwarding, category: dict[str, Any], option: str) -> None:
    [found] = [o for o in category["Options"] if o["Name"] == option]
    response = forwarding.sandbox.control().post(
        f"/organisations/{forwarding.xero_org.tenant_id}/tracking-categories/"
        f"{category['TrackingCategoryID']}/options/{found['TrackingOptionID']}",
        json={"Status": "ARCHIVED"},
    )
    assert response.status_code == 200, response.text


def add_theme(forwarding: Forwarding, name: str) -> dict[str, Any]:
    response = forwarding.sandbox.control().post(
        f"/organisations/{forwarding.xero_org.tenant_id}/branding-themes", json={"Name": name}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def records_of(phone: Phone, entity: str, kind: type[Any]) -> list[Any]:
    return [msgspec.json.decode(payload, type=kind) for payload in phone.store.records(entity).values()]


def option_id(phone: Phone, name: str) -> str:
    [option] = [o for o in records_of(phone, "tracking_option", TrackingOption) if o.name == name]
    return str(option.id)


def theme_id(phone: Phone, name: str) -> str:
    [theme] = [t for t in records_of(phone, "branding_theme", BrandingTheme) if t.name == name]
    return str(theme.id)


def customer_of(phone: Phone) -> str:
    return sorted(record_id for (_, record_id) in phone.store.records("customer"))[0]


async def mirrored(forwarding: Forwarding, phone: Phone) -> None:
    run = await sync_and_wait(forwarding.admin)
    assert run["status"] == "succeeded", run["errors"]
    await phone.refresh()


async def test_phones_pull_the_categories_their_options_and_the_themes(
    forwarding: Forwarding, phone: Phone
) -> None:
    region = add_category(forwarding, "Region", ["North", "South"])
    add_category(forwarding, "Job", ["Fit-out"])
    add_theme(forwarding, "Field jobs")
    archive_option(forwarding, region, "South")
    await mirrored(forwarding, phone)

    categories = {c.name: c for c in records_of(phone, "tracking_category", TrackingCategory)}
    assert {name: c.status for name, c in categories.items()} == {"Region": "ACTIVE", "Job": "ACTIVE"}
    assert categories["Region"].xero_id == region["TrackingCategoryID"]
    options = {
        (o.tracking_category_id, o.name): o.status
        for o in records_of(phone, "tracking_option", TrackingOption)
    }
    assert options == {
        (categories["Region"].id, "North"): "ACTIVE",
        (categories["Region"].id, "South"): "ARCHIVED",
        (categories["Job"].id, "Fit-out"): "ACTIVE",
    }
    themes = sorted((t.sort_order, t.name) for t in records_of(phone, "branding_theme", BrandingTheme))
    assert themes == [(0, "Standard"), (1, "Field jobs")]


async def test_an_invoice_with_tracking_and_a_theme_lands_in_xero_with_them(
    forwarding: Forwarding, phone: Phone
) -> None:
    region = add_category(forwarding, "Region", ["North", "South"])
    job = add_category(forwarding, "Job", ["Fit-out"])
    theme = add_theme(forwarding, "Field jobs")
    await mirrored(forwarding, phone)
    tracked = Line(
        "2",
        "49.95",
        "Tap washer kit",
        tax_type="OUTPUT2",
        account_code=SALES,
        tracking=(option_id(phone, "North"), option_id(phone, "Fit-out")),
    )
    plain = Line("1", "120.00", "Labour", tax_type="OUTPUT2", account_code=SALES)
    themed = phone.create_invoice(
        customer_of(phone), [tracked, plain], branding_theme_id=theme_id(phone, "Field jobs")
    )
    default = phone.create_invoice(customer_of(phone), [plain])

    results = await phone.upload()
    assert [r.status for r in results] == ["applied", "applied"], results
    await settle(forwarding.admin)

    xero = forwarding.xero_invoice_for(themed)
    assert xero["BrandingThemeID"] == theme["BrandingThemeID"]
    north = next(o for o in region["Options"] if o["Name"] == "North")
    assert xero["LineItems"][0]["Tracking"] == [
        {
            "TrackingCategoryID": region["TrackingCategoryID"],
            "TrackingOptionID": north["TrackingOptionID"],
            "Name": "Region",
            "Option": "North",
        },
        {
            "TrackingCategoryID": job["TrackingCategoryID"],
            "TrackingOptionID": job["Options"][0]["TrackingOptionID"],
            "Name": "Job",
            "Option": "Fit-out",
        },
    ]
    assert xero["LineItems"][1]["Tracking"] == []
    standard = next(t for t in forwarding.xero_org.branding_themes.values() if t["SortOrder"] == 0)
    assert forwarding.xero_invoice_for(default)["BrandingThemeID"] == standard["BrandingThemeID"]
    await phone.refresh()
    record = msgspec.json.decode(phone.store.record("invoice", themed) or b"", type=Invoice)
    assert record.branding_theme_id == theme_id(phone, "Field jobs")
    assert record.lines[0].tracking == [option_id(phone, "North"), option_id(phone, "Fit-out")]
    assert record.sync is not None
    assert record.sync.state == "in_xero"


async def test_archived_unknown_or_doubled_options_and_unknown_themes_are_refused_at_the_door(
    forwarding: Forwarding, phone: Phone
) -> None:
    region = add_category(forwarding, "Region", ["North", "South"])
    archive_option(forwarding, region, "South")
    await mirrored(forwarding, phone)
    customer = customer_of(phone)

    def line(*tracking: str) -> Line:
        return Line("1", "10.00", "Work", tax_type="OUTPUT2", account_code=SALES, tracking=tracking)

    phone.create_invoice(customer, [line(), line(option_id(phone, "South"))])
    phone.create_invoice(customer, [line("00000000-0000-0000-0000-00000000beef")])
    phone.create_invoice(customer, [line(option_id(phone, "North"), option_id(phone, "South"))])
    phone.create_invoice(customer, [line()], branding_theme_id="00000000-0000-0000-0000-00000000cafe")

    results = await phone.upload()

    assert [(r.status, r.code, r.field) for r in results] == [
        ("rejected", "tracking_option_archived", "invoice.lines[1].tracking"),
        ("rejected", "unknown_tracking_option", "invoice.lines[0].tracking"),
        ("rejected", "tracking_option_archived", "invoice.lines[0].tracking"),
        ("rejected", "unknown_branding_theme", "invoice.branding_theme_id"),
    ]
    assert "'South' of 'Region' is archived" in (results[0].message or "")
    assert forwarding.writes("/Invoices") == []


async def test_two_options_of_one_category_are_refused(forwarding: Forwarding, phone: Phone) -> None:
    add_category(forwarding, "Region", ["North", "South"])
    await mirrored(forwarding, phone)
    tracking = (option_id(phone, "North"), option_id(phone, "South"))
    phone.create_invoice(
        customer_of(phone), [Line("1", "10.00", tax_type="OUTPUT2", account_code=SALES, tracking=tracking)]
    )

    [result] = await phone.upload()

    assert (result.code, result.field) == ("unknown_tracking_option", "invoice.lines[0].tracking")


async def test_an_option_archived_in_xero_after_acceptance_fails_with_xeros_message(
    forwarding: Forwarding, phone: Phone
) -> None:
    region = add_category(forwarding, "Region", ["North", "South"])
    await mirrored(forwarding, phone)
    archive_option(forwarding, region, "South")  # in Xero, before the mirror's next pull
    invoice_id = phone.create_invoice(
        customer_of(phone),
        [Line("1", "10.00", tax_type="OUTPUT2", account_code=SALES, tracking=(option_id(phone, "South"),))],
    )

    [result] = await phone.upload()
    assert result.status == "applied"
    await settle(forwarding.admin)

    status = await upload_status(forwarding, phone, invoice_id)
    assert (status["state"], status["field"]) == ("failed", "invoice.lines[0].tracking")
    assert status["message"] == (
        "The tracking option 'South' of tracking category 'Region' is archived and cannot be used."
    )
    assert forwarding.xero_invoices_for(invoice_id) == []


async def test_one_offline_push_of_a_new_product_and_a_tracked_themed_invoice_using_it_lands_once_each(
    forwarding: Forwarding, phone: Phone
) -> None:
    region = add_category(forwarding, "Region", ["North", "South"])
    theme = add_theme(forwarding, "Field jobs")
    await mirrored(forwarding, phone)
    # Offline: a part made up on site, sold on the job's invoice in the same push.
    product = create_product(phone, "PART-77", unit_price="18.5000")
    line = Line(
        "3",
        "18.5000",
        "Brass elbow",
        product_id=product,
        tax_type="OUTPUT2",
        account_code=SALES,
        tracking=(option_id(phone, "North"),),
    )
    invoice_id = phone.create_invoice(
        customer_of(phone), [line], branding_theme_id=theme_id(phone, "Field jobs")
    )

    results = await phone.upload()
    assert [r.status for r in results] == ["applied", "applied"], results
    await settle(forwarding.admin)

    [item] = items_with_code(forwarding, "PART-77")
    [xero] = forwarding.xero_invoices_for(invoice_id)
    assert xero["BrandingThemeID"] == theme["BrandingThemeID"]
    [xero_line] = xero["LineItems"]
    assert xero_line["ItemCode"] == "PART-77"
    [tracking] = xero_line["Tracking"]
    assert (tracking["Name"], tracking["Option"]) == ("Region", "North")
    assert tracking["TrackingCategoryID"] == region["TrackingCategoryID"]

    await phone.refresh()
    assert phone_product(phone, product).xero_id == item["ItemID"]
    invoice = msgspec.json.decode(phone.store.record("invoice", invoice_id) or b"", type=Invoice)
    assert invoice.invoice_number == xero["InvoiceNumber"]
    assert invoice.invoice_number
