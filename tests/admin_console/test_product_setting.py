"""The Settings page offers "Send product edits to Xero" beside the customer one; the API reads what
the form saved."""

from __future__ import annotations

from tests.admin_console.conftest import Console


async def test_the_product_edits_box_is_on_the_settings_page_and_saves_what_it_shows(
    signed_in: Console,
) -> None:
    page = await signed_in.open("/admin/settings")
    assert "Send product edits to Xero" in page.text
    assert 'name="update_products"' in page.text

    response = await signed_in.post(
        "/admin/settings", {"invoice_status": "AUTHORISED", "update_customers": "on"}
    )
    assert response.status_code == 303
    saved = (await signed_in.http.get("/admin/api/settings")).json()
    assert (saved["update_customers"], saved["update_products"]) == (True, False)

    response = await signed_in.post(
        "/admin/settings", {"invoice_status": "AUTHORISED", "update_products": "on"}
    )
    assert response.status_code == 303
    saved = (await signed_in.http.get("/admin/api/settings")).json()
    assert (saved["update_customers"], saved["update_products"]) == (False, True)
