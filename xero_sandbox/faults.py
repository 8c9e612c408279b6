"""Faults on demand: latency, HTTP 500/503 for the next N calls, a connection dropped after commit.

A fault applies to requests whose ``"METHOD /path"`` matches its ``route`` glob (case-insensitive),
e.g. ``"PUT /api.xro/2.0/Invoices*"`` or ``"*"``. ``count`` limits how many calls it hits (None: until
cleared).
"""

from __future__ import annotations

import fnmatch
import itertools
from dataclasses import dataclass, field
from typing import Literal

import msgspec

FaultKind = Literal["latency", "status", "drop"]


class FaultSpec(msgspec.Struct, kw_only=True):
    """What the control API accepts (and ``Sandbox.add_fault`` takes)."""

    kind: FaultKind
    route: str = "*"
    count: int | None = None
    status: int = 503
    seconds: float = 0.0


@dataclass
class Fault:
    id: int
    spec: FaultSpec
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return fnmatch.fnmatch(f"{method} {path}".lower(), self.spec.route.lower())

    @property
    def exhausted(self) -> bool:
        return self.spec.count is not None and self.hits >= self.spec.count

    def wire(self) -> dict[str, object]:
        return {"id": self.id, **msgspec.structs.asdict(self.spec), "hits": self.hits}


@dataclass
class Faults:
    active: dict[int, Fault] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, spec: FaultSpec) -> Fault:
        if spec.kind == "status" and spec.status not in (500, 502, 503, 504):
            raise ValueError("status faults are 500, 502, 503 or 504")
        fault = Fault(id=next(self._ids), spec=spec)
        self.active[fault.id] = fault
        return fault

    def clear(self) -> None:
        self.active.clear()

    def take(self, kind: FaultKind, method: str, path: str) -> Fault | None:
        """The first live fault of ``kind`` for this request, counted as hit."""
        for fault in list(self.active.values()):
            if fault.spec.kind == kind and fault.matches(method, path):
                fault.hits += 1
                if fault.exhausted:
                    del self.active[fault.id]
                return fault
        return None
