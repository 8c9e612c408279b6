"""Example bodies for the OpenAPI schema: the golden messages in ``mobile_api/golden/*.json``.

The golden files are what a real server sends (and takes) over the documented day, recorded by
``tests/client/test_golden_messages.py`` against the Xero sandbox with ids and timestamps normalised;
the tests decode each strictly and check docs/protocol.md shows them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"

# The records the phone makes in the examples (client-generated ids, the same in every run).
CUSTOMER_ID = "5b0f7c4e-8a1d-4c39-9d8e-2f6a1b3c4d5e"
INVOICE_ID = "9e2d4f60-1c3b-4a5e-8f7d-6b5a4c3d2e1f"
PAYMENT_ID = "c3a1e2d4-5f60-4b7a-9c8d-e0f1a2b3c4d5"


def golden(name: str) -> dict[str, Any]:
    message: dict[str, Any] = json.loads((GOLDEN / f"{name}.json").read_text())
    return message


PAIR_REQUEST = golden("pair_request")
PAIR_RESPONSE = golden("pair_response")
PULL_RESPONSE = golden("pull_response")
PUSH_REQUEST = golden("push_request")
PUSH_RESPONSE = golden("push_response")
UPLOAD_STATUS = golden("upload_status")
RESYNC_ERROR = golden("error_resync_required")
FIELD_ERROR = golden("error_invalid_input")
