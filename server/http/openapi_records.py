"""The records a pull sends and the error codes, described in the OpenAPI document.

Litestar sees ``ChangeOut.record`` as ``msgspec.Raw`` (the stored JSON, joined into the answer
undecoded) and documents it as ``{}``; and every ``code`` is a ``str`` on the wire, so that clients
decode codes added later. ``describe_records(openapi)`` adds what phones get: a schema per entity
(from the ``sync_protocol`` Structs, by msgspec, so they cannot drift), ``record`` as one of them or
``null``, ``entity`` as the list of entity names, and every ``code`` field as the ``ErrorCode`` enum.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.spec import Components, Discriminator, OpenAPI, OpenAPIType, Reference, Schema

from server.core.rejections import REJECTION, RejectionNote
from sync_protocol.entities import ENTITY_NAME
from sync_protocol.errors import ErrorCode

# The feed's entities, by name, and the struct each record decodes to.
RECORD_TYPES: dict[str, type[msgspec.Struct]] = {name: cls for cls, name in ENTITY_NAME.items()}
RECORD_TYPES[REJECTION] = RejectionNote
# Components with a ``code`` field that carries an ErrorCode.
CODE_FIELDS = ("MutationResult", "UploadStatus", "ErrorBody", "Rejection")
_REF = "#/components/schemas/{name}"

_KEYS = {
    "title": "title",
    "description": "description",
    "default": "default",
    "format": "format",
    "enum": "enum",
    "const": "const",
    "required": "required",
    "pattern": "pattern",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minimum": "minimum",
    "maximum": "maximum",
    "minItems": "min_items",
    "maxItems": "max_items",
}


def schema_of(json_schema: dict[str, Any]) -> Schema | Reference:
    """A JSON schema as msgspec writes it, as Litestar's spec objects."""
    if "$ref" in json_schema:
        return Reference(ref=json_schema["$ref"])
    fields: dict[str, Any] = {_KEYS[k]: v for k, v in json_schema.items() if k in _KEYS}
    if "type" in json_schema:
        fields["type"] = OpenAPIType(json_schema["type"])
    elif "enum" in json_schema and all(isinstance(v, str) for v in json_schema["enum"]):
        fields["type"] = OpenAPIType.STRING
    if "properties" in json_schema:
        fields["properties"] = {k: schema_of(v) for k, v in json_schema["properties"].items()}
    if "items" in json_schema:
        fields["items"] = schema_of(json_schema["items"])
    if isinstance(json_schema.get("additionalProperties"), dict):
        fields["additional_properties"] = schema_of(json_schema["additionalProperties"])
    for key, name in (("anyOf", "one_of"), ("oneOf", "one_of")):
        if key in json_schema:
            fields[name] = [schema_of(s) for s in json_schema[key]]
    if "discriminator" in json_schema:
        found = json_schema["discriminator"]
        fields["discriminator"] = Discriminator(
            property_name=found["propertyName"], mapping=found.get("mapping")
        )
    return Schema(**fields)


def _codes(nullable: bool) -> Schema:
    codes = Schema(
        type=OpenAPIType.STRING,
        enum=[code.value for code in ErrorCode],
        description="An error code (docs/protocol.md, Errors). New codes may be added: treat one you do not "
        "know as a generic error.",
    )
    return Schema(one_of=[codes, Schema(type=OpenAPIType.NULL)]) if nullable else codes


def _with_code_enum(schema: Schema) -> None:
    current = (schema.properties or {}).get("code")
    if schema.properties is None or current is None:
        return
    nullable = isinstance(current, Schema) and current.one_of is not None
    schema.properties["code"] = _codes(nullable)


def describe_records(openapi: OpenAPI) -> None:
    """Adds the records' schemas and the codes' enum to ``openapi`` (in place)."""
    components = openapi.components if isinstance(openapi.components, Components) else Components()
    openapi.components = components
    schemas = components.schemas if components.schemas is not None else {}
    components.schemas = schemas
    refs, found = msgspec.json.schema_components(list(RECORD_TYPES.values()), ref_template=_REF)
    for name, json_schema in found.items():
        if name not in schemas:
            converted = schema_of(json_schema)
            assert isinstance(converted, Schema)
            schemas[name] = converted
    note = schemas[RejectionNote.__name__]
    _with_code_enum(note)
    note.description = (
        f"The record of an `{REJECTION}` change: why this device's latest push of a record was rejected "
        "(WatermelonDB apps read it as the record's `sync_*` columns; a native phone may skip it)."
    )
    change = schemas.get("ChangeOut")
    if isinstance(change, Schema) and change.properties is not None:
        kinds = ", ".join(f"`{name}`: {cls.__name__}" for name, cls in RECORD_TYPES.items())
        change.properties["entity"] = Schema(
            type=OpenAPIType.STRING,
            enum=list(RECORD_TYPES),
            description="The record's kind. New kinds may be added: skip a change of a kind you do not know.",
        )
        change.properties["record"] = Schema(
            one_of=[*(schema_of(ref) for ref in refs), Schema(type=OpenAPIType.NULL)],
            description=f"The record, by `entity` ({kinds}); `null`: a tombstone, delete it locally.",
        )
    for name in CODE_FIELDS:
        schema = schemas.get(name)
        if isinstance(schema, Schema):
            _with_code_enum(schema)
