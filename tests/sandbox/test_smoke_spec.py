from __future__ import annotations

import httpx


def test_every_list_endpoint_answers_in_xero_shape(xero: httpx.Client) -> None:
    for collection in ("Organisations", "Accounts", "TaxRates", "Contacts", "Items", "Invoices", "Payments"):
        path = "/Organisation" if collection == "Organisations" else f"/{collection}"
        response = xero.get(path)
        assert response.status_code == 200
        assert response.json()["Status"] == "OK"
