"""The documented messages: golden files decode strictly, match the OpenAPI examples and the docs."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from mobile_api import examples
from mobile_api.examples import GOLDEN
from server.app import create_app
from server.core.crypto import new_key_text
from server.http.errors import ErrorEnvelope
from server.settings import Settings
from sync_protocol.entities import decode_entity
from sync_protocol.errors import ERROR_DESCRIPTIONS, ErrorCode
from sync_protocol.messages import (
    PairRequest,
    PairResponse,
    PullResponse,
    PushRequest,
    PushResponse,
    UploadStatus,
)

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL_DOC = ROOT / "docs" / "protocol.md"

MESSAGES: dict[str, tuple[type[Any], dict[str, Any]]] = {
    "pair_request": (PairRequest, examples.PAIR_REQUEST),
    "pair_response": (PairResponse, examples.PAIR_RESPONSE),
    "pull_response": (PullResponse, examples.PULL_RESPONSE),
    "push_request": (PushRequest, examples.PUSH_REQUEST),
    "push_response": (PushResponse, examples.PUSH_RESPONSE),
    "upload_status": (UploadStatus, examples.UPLOAD_STATUS),
    "error_resync_required": (ErrorEnvelope, examples.RESYNC_ERROR),
    "error_invalid_input": (ErrorEnvelope, examples.FIELD_ERROR),
}


def doc_json_blocks() -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", PROTOCOL_DOC.read_text(), re.S)]


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_a_golden_message_decodes_strictly(name: str) -> None:
    message_type, _ = MESSAGES[name]
    msgspec.json.decode((GOLDEN / f"{name}.json").read_bytes(), type=message_type, strict=True)


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_a_golden_message_is_the_openapi_example(name: str) -> None:
    assert json.loads((GOLDEN / f"{name}.json").read_text()) == MESSAGES[name][1]


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_a_golden_message_is_shown_in_the_protocol_doc(name: str) -> None:
    assert json.loads((GOLDEN / f"{name}.json").read_text()) in doc_json_blocks()


def test_the_records_of_the_pull_example_decode_by_entity() -> None:
    page = msgspec.json.decode((GOLDEN / "pull_response.json").read_bytes(), type=PullResponse)
    decoded = [decode_entity(c.entity, bytes(c.record)) if not c.deleted else None for c in page.changes]
    assert [type(d).__name__ for d in decoded] == ["TaxRate", "NoneType"]


def test_every_error_code_is_described_and_in_the_protocol_doc() -> None:
    table = set(re.findall(r"^\| `([a-z_]+)` \| \d{3}(?:/\d{3})? \| ", PROTOCOL_DOC.read_text(), re.M))
    assert set(ERROR_DESCRIPTIONS) == set(ErrorCode)
    assert set(table) == {code.value for code in ErrorCode}


def _codes_written_as_strings(source: Path) -> list[str]:
    """``code="…"`` arguments and ``code = "…"`` class attributes: codes not taken from ErrorCode."""
    found = []
    for node in ast.walk(ast.parse(source.read_text())):
        values: list[ast.expr] = []
        if isinstance(node, ast.Call):
            values = [k.value for k in node.keywords if k.arg == "code"]
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "code" for t in node.targets
        ):
            values = [node.value]
        elif (
            isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "code"
        ):
            values = [node.value] if node.value is not None else []
        found += [
            f"{source.relative_to(ROOT)}:{v.lineno}: {v.value!r}"
            for v in values
            if isinstance(v, ast.Constant) and isinstance(v.value, str)
        ]
    return found


def test_every_error_the_server_raises_takes_its_code_from_the_one_enum() -> None:
    # server/xero is the Xero client: its ``code`` fields are Xero's (account codes), not ours.
    xero_client = ROOT / "server" / "xero"
    sources = [
        p
        for d in ("server", "mobile_api", "sync_protocol")
        for p in sorted((ROOT / d).rglob("*.py"))
        if xero_client not in p.parents
    ]
    assert [hit for source in sources for hit in _codes_written_as_strings(source)] == []


def test_the_mobile_endpoints_carry_examples_in_the_openapi_schema() -> None:
    schema = create_app(
        Settings(database_url="sqlite:///:memory:", secret_key=new_key_text())
    ).openapi_schema.to_schema()
    push = schema["paths"]["/mobile/v1/mutations"]["post"]
    assert push["requestBody"]["content"]["application/json"]["schema"]["examples"]
    assert push["responses"]["200"]["content"]["application/json"]["examples"]
    pull = schema["paths"]["/mobile/v1/changes"]["get"]
    assert pull["responses"]["200"]["content"]["application/json"]["examples"]
