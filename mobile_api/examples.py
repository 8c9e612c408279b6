"""Real example bodies for the OpenAPI schema. ``tests/protocol/golden/*.json`` hold the same
messages (a test checks they agree and that each decodes strictly), and docs/protocol.md shows them."""

from __future__ import annotations

from typing import Any

CUSTOMER_ID = "5b0f7c4e-8a1d-4c39-9d8e-2f6a1b3c4d5e"
INVOICE_ID = "9e2d4f60-1c3b-4a5e-8f7d-6b5a4c3d2e1f"
PAYMENT_ID = "c3a1e2d4-5f60-4b7a-9c8d-e0f1a2b3c4d5"

PAIR_REQUEST: dict[str, Any] = {"code": "KQ7MX-P2DRT", "device_name": "Sam's phone"}

PAIR_RESPONSE: dict[str, Any] = {
    "device_id": "2f1e0d9c-8b7a-4655-9443-3221100f0e0d",
    "token": "ls_dev_8Hq1Zc0mYk3V9pQ2wX7rT5uB4nL6sD1eF0gJ2hK3iM4",
    "organisation_id": "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d",
    "staff_name": "Sam Field",
    "protocol_version": 1,
}

PULL_RESPONSE: dict[str, Any] = {
    "changes": [
        {
            "version": 41,
            "entity": "tax_rate",
            "id": "tax-OUTPUT2",
            "record": {
                "entity": "tax_rate",
                "id": "tax-OUTPUT2",
                "xero_id": None,
                "updated_at": None,
                "tax_type": "OUTPUT2",
                "name": "GST on Income",
                "rate": "15.0000",
                "status": "ACTIVE",
                "can_apply_to_revenue": True,
            },
        },
        {"version": 42, "entity": "customer", "id": "0c1d2e3f-0000-4000-8000-000000000001", "record": None},
    ],
    "cursor": 42,
    "has_more": False,
}

PUSH_REQUEST: dict[str, Any] = {
    "mutations": [
        {
            "op": "upsert_customer",
            "mutation_id": "m-0001-7f3e",
            "customer": {"id": CUSTOMER_ID, "name": "Harbour Cafe", "email": "accounts@harbourcafe.example"},
        },
        {
            "op": "upsert_invoice",
            "mutation_id": "m-0002-7f3e",
            "invoice": {
                "id": INVOICE_ID,
                "customer_id": CUSTOMER_ID,
                "reference": "Job 1182",
                "date": "2026-11-20",
                "due_date": "2026-12-20",
                "line_amount_type": "Exclusive",
                "lines": [
                    {
                        "description": "Tap washer kit",
                        "product_id": "00000000-0000-4000-9000-000000000001",
                        "quantity": "2",
                        "unit_amount": "49.95",
                        "tax_type": "OUTPUT2",
                        "line_amount": "99.90",
                        "tax_amount": "14.99",
                    },
                    {
                        "description": "Labour",
                        "quantity": "1",
                        "unit_amount": "120.00",
                        "discount_rate": "10",
                        "account_code": "200",
                        "tax_type": "OUTPUT2",
                        "line_amount": "108.00",
                        "tax_amount": "16.20",
                    },
                ],
                "sub_total": "207.90",
                "total_tax": "31.19",
                "total": "239.09",
            },
        },
        {
            "op": "create_payment",
            "mutation_id": "m-0003-7f3e",
            "payment": {
                "id": PAYMENT_ID,
                "invoice_id": INVOICE_ID,
                "account_code": "090",
                "date": "2026-11-20",
                "amount": "100.00",
                "reference": "Cash on site",
            },
        },
    ]
}

PUSH_RESPONSE: dict[str, Any] = {
    "results": [
        {"mutation_id": "m-0001-7f3e", "status": "applied", "entity": "customer", "record_id": CUSTOMER_ID},
        {"mutation_id": "m-0002-7f3e", "status": "applied", "entity": "invoice", "record_id": INVOICE_ID},
        {
            "mutation_id": "m-0003-7f3e",
            "status": "rejected",
            "entity": "payment",
            "record_id": PAYMENT_ID,
            "code": "payment_exceeds_amount_due",
            "message": "the payment 300.00 exceeds the amount due 239.09",
            "field": "payment.amount",
            "details": {"amount_due": "239.09", "got": "300.00"},
        },
    ]
}

UPLOAD_STATUS: dict[str, Any] = {
    "mutation_id": "m-0002-7f3e",
    "status": "applied",
    "entity": "invoice",
    "record_id": INVOICE_ID,
    "state": "in_xero",
    "xero_id": "243216c5-369e-4056-ac67-05388f86dc81",
    "updated_at": "2026-11-20T21:04:11.120000Z",
}

RESYNC_ERROR: dict[str, Any] = {
    "error": {
        "code": "resync_required",
        "message": (
            "this cursor can no longer be served incrementally: pull again without a cursor and "
            "replace the local copy (unsent uploads stay queued)"
        ),
        "details": {"cursor": 12, "horizon": 5310, "latest": 5977},
    }
}

FIELD_ERROR: dict[str, Any] = {
    "error": {
        "code": "invalid_input",
        "message": "mutations[0].payment.amount: Expected `str`, got `float`",
        "details": {"field": "mutations[0].payment.amount"},
    }
}
