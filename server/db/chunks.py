"""Long lists in bounded pieces: one ``IN (...)`` list, one executemany, one Xero request at a time.

SQLite allows 32766 parameters per statement and asyncpg 32767; 500 ids a statement stays far below
both, and far below where a longer list stops paying for itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

IN_LIST = 500  # ids per IN (...) list, rows per executemany


def chunks(items: Sequence[T], size: int = IN_LIST) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size`` (none for an empty sequence)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
