"""What every record kind says about itself, in the terms of the layers that use it.

A kind is one kind of mutation a phone pushes (``sync_protocol.messages``): what it targets and
refers to, how the push batch validates and stages it (``server.core.push.MutationKind``), how
the forwarder plans it for Xero (its ``Operation``\\ s, in dependency order), which field of the
mutation a Xero message is about, and how WatermelonDB rows compare with it. The layers above
look a kind up in the registry (``server.kinds``) instead of branching on the mutation's type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from server.core.fate import Fate, Held, InXero
from server.core.push import MutationKind
from server.db.forwarding_models import ForwardingSettings
from sync_protocol.entities import Entity, Invoice, OrganisationSettings

E = TypeVar("E", bound=Entity)
M = TypeVar("M")


@dataclass(frozen=True)
class Operation:
    """One kind of Xero write: where it goes and how the answer lists its elements."""

    name: str
    method: str
    path: str
    envelope: str
    creates: bool
    answer: type[Any]  # the wire envelope Xero answers with
    removes: bool = False  # takes a record out of Xero (a void, a payment deletion)


class Records(Protocol):
    """The feed's current records planning reads (fetched together for a run)."""

    def get(self, cls: type[E], record_id: str) -> E | None: ...


@dataclass(frozen=True)
class PlanContext:
    """What planning one upload reads besides its mutation."""

    settings: ForwardingSettings
    organisation: OrganisationSettings | None  # read only when the run holds an invoice
    records: Records
    base_url: str
    ambiguous: bool  # the upload may have reached Xero already (reconciled before it goes again)


@dataclass(frozen=True)
class Send:
    """A planned Xero write: the operation and its element (or the Xero id it acts on)."""

    operation: Operation
    element: dict[str, Any] = field(default_factory=dict)
    target: str = ""  # the Xero id a void or a payment deletion acts on


@dataclass(frozen=True)
class NotYet:
    """What the upload refers to is not in Xero yet: it is tried again later (with backoff)."""

    message: str


Plan = Send | NotYet | Fate


class Kind(MutationKind[M], Protocol[M]):
    """One kind of mutation, in one place (a module of ``server.kinds``)."""

    tag: str  # the mutation's ``op``
    mutation_type: type[M]
    operations: tuple[Operation, ...]  # its Xero writes, in the order they go within the kind
    plans_with_organisation: bool  # planning reads the organisation's settings (``PlanContext``)

    def forward_references(self, mutation: M) -> list[tuple[str, str]]:
        """The (entity, record id) planning reads: its own record and those it names in Xero."""
        ...

    def plan(self, mutation: M, context: PlanContext) -> Plan:
        """What to send to Xero for the upload, or its fate without sending (held, failed)."""
        ...

    def fate_of(self, element: Any) -> InXero:
        """The fate an element of Xero's answer gives the upload."""
        ...

    def field_of(self, mutation: M, message: str) -> str:
        """Which field of the mutation a Xero validation message is about ("" when unknown)."""
        ...

    def watermelon_versioned(self, mutation: M) -> list[tuple[str, str | None]]:
        """The (entity, id) besides its own record whose versions a WatermelonDB push's mutation id
        includes: what its validation reads, so a re-push after they change is judged again."""
        ...

    def same_as_server(self, mutation: M, payload: bytes) -> bool:
        """Whether the server's record (its feed payload) is already what a WatermelonDB push asks."""
        ...


NEVER_SENT = "not sent to Xero: the invoice was voided on the phone before it reached Xero"


def cancelled_by_void(context: PlanContext, invoice_id: str) -> Held | None:
    """An invoice voided before it ever reached Xero is not created there (to be voided right after).

    Its create and edits, and payments on it, end ``held`` with a message saying so; so does the
    void (the invoice never reached Xero). An upload that may have been sent already
    (``ambiguous``) goes on as usual: it is reconciled, and the void then voids it in Xero.
    """
    if context.ambiguous:
        return None
    invoice = context.records.get(Invoice, invoice_id)
    if invoice is None or invoice.xero_id or invoice.status not in ("VOIDED", "DELETED"):
        return None
    return Held(NEVER_SENT)
