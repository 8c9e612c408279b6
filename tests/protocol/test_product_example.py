"""The documented product mutation is one the server takes as it stands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec

from sync_protocol.messages import PushRequest, UpsertInvoice, UpsertProduct

PROTOCOL_DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_the_documented_product_push_decodes_strictly_with_its_invoice_naming_the_product() -> None:
    section = PROTOCOL_DOC.read_text().split("## Products", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```json\n(.*?)```", section, re.S)
    push = msgspec.json.decode(json.dumps(json.loads(block)).encode(), type=PushRequest, strict=True)
    product, invoice = push.mutations
    assert isinstance(product, UpsertProduct)
    assert isinstance(invoice, UpsertInvoice)
    assert invoice.invoice.lines[0].product_id == product.product.id
    assert product.product.unit_price == "49.9500"
