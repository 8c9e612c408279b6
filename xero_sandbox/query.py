"""Xero's list filters: `where` comparisons, `order`, IDs, paging, If-Modified-Since."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from .errors import BadRequest, NotFound
from .store import Record
from .wire import WireError, parse_bool, parse_datetime

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100

# One clause: Field.Path <op> value, where value is "text", guid("..."), true/false, a number or
# DateTime(y,m,d[,h,m,s]); ops ==, !=, >, >=, <, <=.
_CLAUSE = re.compile(
    r"""^\s*(?P<field>[A-Za-z][A-Za-z0-9_.]*)\s*(?P<op>==|!=|>=|<=|>|<)\s*
        (?:"(?P<text>[^"]*)"|[Gg]uid\(\s*"(?P<guid>[^"]*)"\s*\)
          |(?P<bool>true|false|True|False)|(?P<number>-?\d+(?:\.\d+)?)
          |DateTime\(\s*(?P<datetime>\d+(?:\s*,\s*\d+){2,5})\s*\))\s*$""",
    re.VERBOSE,
)
_AND = re.compile(r"\s*(?:&&|\bAND\b)\s*")
# Names on the wire whose values the records keep under the sandbox's own keys.
_STORED_AS = {"UpdatedDateUTC": "_updated"}

Predicate = Callable[[Record], bool]
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _value_at(record: Record, path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(_STORED_AS.get(part, part))
    return value


def _comparable(actual: Any, expected: Any) -> tuple[Any, Any] | None:
    """Bring both sides to one type (text case-insensitively, numbers as Decimal, dates as datetimes)."""
    if isinstance(expected, str) and isinstance(actual, str):
        return actual.lower(), expected.lower()
    if isinstance(expected, bool) or isinstance(actual, bool):
        return (actual, expected) if isinstance(actual, bool) and isinstance(expected, bool) else None
    if isinstance(expected, Decimal) and isinstance(actual, int | Decimal):
        return Decimal(actual), expected
    if isinstance(expected, datetime) and isinstance(actual, date):
        moment = actual if isinstance(actual, datetime) else datetime.combine(actual, time(), UTC)
        return moment, expected
    return None


def _holds(actual: Any, op: str, expected: Any) -> bool:
    pair = _comparable(actual, expected)
    if pair is None:
        return op == "!=" if actual != expected else op in ("==", ">=", "<=")
    return _COMPARE[op](*pair)


def _literal(match: re.Match[str]) -> Any:
    if match["text"] is not None:
        return match["text"]
    if match["guid"] is not None:
        return match["guid"]
    if match["bool"] is not None:
        return match["bool"].lower() == "true"
    if match["datetime"] is not None:
        parts = [int(part) for part in match["datetime"].split(",")] + [0, 0, 0]
        year, month, day, hour, minute, second = parts[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return Decimal(match["number"])


def parse_where(expression: str | None) -> Predicate:
    """Conjunctions of comparisons; anything else is a 400, as an unparsable where is in Xero."""
    if not expression or not expression.strip():
        return lambda record: True
    clauses: list[tuple[str, str, Any]] = []
    for clause in _AND.split(expression.strip()):
        match = _CLAUSE.match(clause)
        if match is None:
            raise BadRequest(
                f"The where clause '{clause}' is not supported by the sandbox.",
                error_type="QueryParseException",
                number=16,
            )
        try:
            clauses.append((match["field"], match["op"], _literal(match)))
        except ValueError as exc:
            raise BadRequest(f"The where clause '{clause}' has an invalid value: {exc}") from exc

    def predicate(record: Record) -> bool:
        return all(_holds(_value_at(record, field), op, expected) for field, op, expected in clauses)

    return predicate


def sort_by(records: list[Record], order: str | None) -> list[Record]:
    """`order=Name ASC, UpdatedDateUTC DESC`; without it, creation order. Missing values sort first."""
    if not order or not order.strip():
        return records
    for term in reversed([part.split() for part in order.split(",") if part.strip()]):
        field = term[0]
        descending = len(term) > 1 and term[1].upper() == "DESC"

        def key(record: Record, field: str = field) -> tuple[bool, Any]:
            value = _value_at(record, field)
            if isinstance(value, str):
                value = value.lower()
            return value is not None, value

        try:
            records = sorted(records, key=key, reverse=descending)
        except TypeError as exc:
            raise BadRequest(
                f"Cannot order by '{field}'.", error_type="QueryParseException", number=16
            ) from exc
    return records


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


# Xero's gateway answers 404 when one `IDs` query names more GUIDs than this (reported, not documented).
MAX_IDS = 52


def ids_filter(params: Mapping[str, str], key: str) -> set[str] | None:
    raw = params.get(key.lower())
    if not raw:
        return None
    parts = [part.strip().strip('"').lower() for part in raw.split(",") if part.strip()]
    if key == "IDs" and len(parts) > MAX_IDS:
        raise NotFound()
    return set(parts)


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
    order: str | None = None,
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
    return sort_by(out, order)


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
