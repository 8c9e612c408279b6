"""Every state, code, entity, field and value the server can send is in the OpenAPI document and in
docs/protocol.md: the test walks the wire types and the server's enums and fails on one left out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from server.app import create_app
from server.core.crypto import new_key_text
from server.core.rejections import REJECTION, RejectionNote
from server.core.states import DEAD_STATES, UploadState
from server.core.uploads import WIRE_STATES
from server.http.errors import ErrorBody
from server.http.openapi_records import CODE_FIELDS
from server.settings import Settings
from sync_protocol.entities import ENTITY_NAME, Address, InvoiceLine, RecordSync
from sync_protocol.errors import ErrorCode
from sync_protocol.messages import (
    ChangeOut,
    MutationResult,
    PairResponse,
    PullResponse,
    PushResponse,
    UploadStatus,
)
from sync_protocol.watermelon import Rejection

PROTOCOL_DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
RECORDS: dict[str, type[msgspec.Struct]] = {name: cls for cls, name in ENTITY_NAME.items()}
RECORDS[REJECTION] = RejectionNote
# The parts of records, under the heading docs/protocol.md gives them.
PARTS: dict[str, type[msgspec.Struct]] = {"sync": RecordSync, "lines[]": InvoiceLine, "address": Address}
# Everything else the mobile API answers with.
MESSAGES = (
    PairResponse,
    PullResponse,
    ChangeOut,
    PushResponse,
    MutationResult,
    UploadStatus,
    ErrorBody,
    Rejection,
)


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    app = create_app(Settings(database_url="sqlite:///:memory:", secret_key=new_key_text()))
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def components(openapi: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = openapi["components"]["schemas"]
    return found


def enum_values(schema: dict[str, Any]) -> set[Any]:
    """Every ``enum`` value in a property's schema, through ``oneOf``/``anyOf``."""
    values = set(schema.get("enum", []))
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        values |= enum_values(branch)
    return values


def literal_values(t: mi.Type) -> set[Any]:
    if isinstance(t, mi.LiteralType):
        return set(t.values)
    if isinstance(t, mi.UnionType):
        return set().union(*(literal_values(member) for member in t.types))
    return set()


def wire_fields(cls: type[msgspec.Struct]) -> dict[str, set[Any]]:
    """The fields ``cls`` is sent with (its tag too), each with the values a Literal allows."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    fields = {f.encode_name: literal_values(f.type) for f in info.fields}
    if info.tag_field is not None:
        fields[info.tag_field] = {info.tag}
    return fields


def doc_section(heading: str) -> str:
    """The text under a ``#### `heading``` of docs/protocol.md's Records section."""
    records = PROTOCOL_DOC.read_text().split("\n## Records\n", 1)[1].split("\n## ", 1)[0]
    parts = records.split(f"\n#### `{heading}`", 1)
    assert len(parts) == 2, f"docs/protocol.md, Records: no section for `{heading}`"
    return parts[1].split("\n#### ", 1)[0]


@pytest.mark.parametrize("state", list(UploadState))
def test_every_upload_state_is_in_the_openapi_and_the_protocol_doc(
    openapi: dict[str, Any], state: UploadState
) -> None:
    schemas = components(openapi)
    assert WIRE_STATES[state] == state.value
    assert state.value in enum_values(schemas["UploadStatus"]["properties"]["state"])
    if state not in DEAD_STATES and state is not UploadState.REJECTED:
        assert state.value in enum_values(schemas["RecordSync"]["properties"]["state"])
        assert state.on_wire == state.value
    fate = PROTOCOL_DOC.read_text().split("\n## Upload fate\n", 1)[1].split("\n## ", 1)[0]
    assert f"`{state.value}`" in fate, f"docs/protocol.md, Upload fate: no `{state.value}`"


@pytest.mark.parametrize("component", [*CODE_FIELDS, RejectionNote.__name__])
def test_every_code_field_lists_every_error_code(openapi: dict[str, Any], component: str) -> None:
    code = components(openapi)[component]["properties"]["code"]
    assert enum_values(code) == {c.value for c in ErrorCode}


def test_every_entity_a_pull_sends_is_in_the_openapi_and_the_protocol_doc(openapi: dict[str, Any]) -> None:
    change = components(openapi)["ChangeOut"]["properties"]
    assert set(change["entity"]["enum"]) == set(RECORDS)
    refs = {branch.get("$ref", "").rsplit("/", 1)[-1] for branch in change["record"]["oneOf"]}
    assert refs == {cls.__name__ for cls in RECORDS.values()} | {""}  # "": the tombstone's null
    for entity in RECORDS:
        doc_section(entity)


@pytest.mark.parametrize("name", [*RECORDS, *PARTS])
def test_every_field_and_value_of_a_record_is_in_the_openapi_and_the_protocol_doc(
    openapi: dict[str, Any], name: str
) -> None:
    cls = RECORDS.get(name) or PARTS[name]
    schema = components(openapi)[cls.__name__]["properties"]
    section = doc_section(name)
    for field, values in wire_fields(cls).items():
        assert field in schema, f"OpenAPI {cls.__name__} has no {field}"
        assert values <= enum_values(schema[field]), (cls.__name__, field)
        row = re.search(rf"^\| `{re.escape(field)}` \|.*$", section, re.M)
        assert row is not None, f"docs/protocol.md, Records, `{name}`: no row for `{field}`"
        for value in values:
            assert f"`{value}`" in row.group(0), f"docs/protocol.md, `{name}`.`{field}`: no `{value}`"


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda c: c.__name__)
def test_every_field_of_an_answer_is_in_the_openapi(
    openapi: dict[str, Any], cls: type[msgspec.Struct]
) -> None:
    schemas = components(openapi)
    name = next(n for n in (cls.__name__, f"messages_{cls.__name__}") if n in schemas)
    properties = schemas[name]["properties"]
    for field, values in wire_fields(cls).items():
        assert field in properties, f"OpenAPI {name} has no {field}"
        assert values <= enum_values(properties[field]), (name, field)


@pytest.mark.parametrize(
    "cls",
    [PairResponse, PullResponse, ChangeOut, MutationResult, UploadStatus, ErrorBody],
    ids=lambda c: c.__name__,
)
def test_every_field_of_an_answer_is_named_in_the_protocol_doc(cls: type[msgspec.Struct]) -> None:
    doc = PROTOCOL_DOC.read_text()
    for field in wire_fields(cls):
        assert f"`{field}`" in doc or f'"{field}":' in doc, (
            f"docs/protocol.md never names {cls.__name__}.{field}"
        )


def test_every_table_of_the_protocol_doc_has_its_delimiter_row_under_its_header() -> None:
    """A Markdown table whose ``|---|`` row is not the second renders as text (or with a data row
    for its header): the Records tables a developer reads must show as tables."""
    lines = PROTOCOL_DOC.read_text().splitlines()
    delimiter = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")
    starts = [i for i, line in enumerate(lines) if line.startswith("|") and not lines[i - 1].startswith("|")]
    assert starts
    broken = [lines[i] for i in starts if i + 1 >= len(lines) or not delimiter.match(lines[i + 1])]
    assert broken == []
