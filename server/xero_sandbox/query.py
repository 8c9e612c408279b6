"""Xero's list filters: `where` equality expressions, IDs, paging, If-Modified-Since."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .errors import BadRequest
from .store import Record
from .wire import WireError, parse_bool, parse_datetime

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100

# One clause: Field.Path == "text" | guid("...") | true/false | number; also !=.
_CLAUSE = re.compile(
    r"""^\s*(?P<field>[A-Za-z][A-Za-z0-9_.]*)\s*(?P<op>==|!=)\s*
        (?:"(?P<text>[^"]*)"|guid\(\s*"(?P<guid>[^"]*)"\s*\)|Guid\(\s*"(?P<guid2>[^"]*)"\s*\)
          |(?P<bool>true|false|True|False)|(?P<number>-?\d+(?:\.\d+)?))\s*$""",
    re.VERBOSE,
)
_AND = re.compile(r"\s*(?:&&|\bAND\b)\s*")

Predicate = Callable[[Record], bool]


def _value_at(record: Record, path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _equals(actual: Any, expected: Any) -> bool:
    if isinstance(expected, str) and isinstance(actual, str):
        return actual.lower() == expected.lower()
    if isinstance(expected, Decimal) and isinstance(actual, int | Decimal) and not isinstance(actual, bool):
        return Decimal(actual) == expected
    return bool(actual == expected)


def parse_where(expression: str | None) -> Predicate:
    """Simple conjunctions of equalities; anything else is a 400, as an unparsable where is in Xero."""
    if not expression or not expression.strip():
        return lambda record: True
    clauses: list[tuple[str, bool, Any]] = []
    for clause in _AND.split(expression.strip()):
        match = _CLAUSE.match(clause)
        if match is None:
            raise BadRequest(
                f"The where clause '{clause}' is not supported by the sandbox.",
                error_type="QueryParseException",
                number=16,
            )
        if match["text"] is not None:
            expected: Any = match["text"]
        elif match["guid"] is not None or match["guid2"] is not None:
            expected = match["guid"] if match["guid"] is not None else match["guid2"]
        elif match["bool"] is not None:
            expected = match["bool"].lower() == "true"
        else:
            expected = Decimal(match["number"])
        clauses.append((match["field"], match["op"] == "==", expected))

    def predicate(record: Record) -> bool:
        return all(
            _equals(_value_at(record, field), expected) == positive for field, positive, expected in clauses
        )

    return predicate


@dataclass(frozen=True)
class Page:
    number: int
    size: int


def page_of(params: Mapping[str, str]) -> Page | None:
    """`page`/`pageSize` (max 1000, default 100); None when the caller did not ask for paging."""
    if "page" not in params and "pagesize" not in params:
        return None
    try:
        number = max(1, int(params.get("page") or 1))
        size = int(params.get("pagesize") or DEFAULT_PAGE_SIZE)
    except ValueError as exc:
        raise BadRequest("page and pageSize must be integers.") from exc
    return Page(number=number, size=max(1, min(size, MAX_PAGE_SIZE)))


def ids_filter(params: Mapping[str, str], key: str) -> set[str] | None:
    raw = params.get(key.lower())
    if not raw:
        return None
    return {part.strip().strip('"').lower() for part in raw.split(",") if part.strip()}


def if_modified_since(header: str | None) -> datetime | None:
    if not header:
        return None
    try:
        return parse_datetime(header)
    except WireError:
        from email.utils import parsedate_to_datetime

        try:
            return parsedate_to_datetime(header)
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"If-Modified-Since '{header}' is not a valid date.") from exc


def include_archived(params: Mapping[str, str]) -> bool:
    try:
        return parse_bool(params.get("includearchived"))
    except WireError as exc:
        raise BadRequest(str(exc)) from exc


def select(
    records: Iterable[Record],
    *,
    where: Predicate,
    ids: set[str] | None,
    id_key: str,
    since: datetime | None,
    extra: Predicate | None = None,
) -> list[Record]:
    out: list[Record] = []
    for record in records:
        if ids is not None and record[id_key].lower() not in ids:
            continue
        if since is not None and record["_updated"] <= since:
            continue
        if extra is not None and not extra(record):
            continue
        if where(record):
            out.append(record)
    return out


def paginate(records: list[Record], page: Page | None) -> tuple[list[Record], dict[str, int] | None]:
    if page is None:
        return records, None
    start = (page.number - 1) * page.size
    count = len(records)
    return records[start : start + page.size], {
        "page": page.number,
        "pageSize": page.size,
        "pageCount": (count + page.size - 1) // page.size,
        "itemCount": count,
    }
