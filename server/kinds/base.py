"""What every record kind says about itself, in the terms of the layers that use it.

A kind is one kind of mutation a phone pushes (``sync_protocol.messages``): what it targets and
refers to, how the push batch validates and stages it (``server.core.push.MutationKind``), how
the forwarder plans and sends it to Xero (its operations, in dependency order, and their steps),
which field of the mutation a Xero message is about, and how an app's WatermelonDB rows become
it. The layers above look a kind up in the registry (``server.kinds``) instead of branching on
the mutation's type; what a kind needs of the run it is in comes as types declared here
(``PlanContext``, and the Protocols ``XeroReads`` and ``WatermelonPush`` they implement).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from server.core import merge
from server.core.fate import Fate, Held, InXero
from server.core.outbox import Claimed
from server.core.push import MutationKind
from server.db.forwarding_models import ForwardingSettings
from server.xero import wire
from sync_protocol.entities import Entity, Invoice, OrganisationSettings
from sync_protocol.messages import AnyMutation, MutationResult
from sync_protocol.watermelon import Rejection, TableChanges

E = TypeVar("E", bound=Entity)
M = TypeVar("M")
W = TypeVar("W", bound=wire.Wire)


@dataclass(frozen=True)
class Operation:
    """One kind of Xero write: where it goes and how the answer lists its elements.

    ``found_again``: for a create that may have reached Xero already (its answer was lost), the
    records Xero has that it made, found by the kind among what changed in Xero since it was sent
    (``XeroReads.changed_since``); those are done, the rest are sent again. ``one_by_one``: Xero
    takes the write one record at a time, at ``path/target`` (``already_done`` says whether Xero
    has it so already, for one that may have been sent).
    ``prepare``: what happens between planning and sending, with Xero's current records at hand
    (an edit merged with Xero's record, a void that reads the invoice's status first); it may
    settle some jobs without sending. ``answered``: the fate of a job that ``prepare`` merged,
    from Xero's answer. ``refused_record``: the entity whose Xero version phones get when Xero
    refuses the write (``server/forwarding/refused.py``), found by the element's ``id_key``.
    """

    name: str
    method: str
    path: str
    envelope: str
    creates: bool
    answer: type[Any] | None  # the wire envelope Xero answers with (None: no body, 204)
    removes: bool = False  # takes a record out of Xero (a void, a payment deletion)
    # Query parameters of every call: ``unitdp=4`` where prices may have four decimals (Xero's default
    # rounds unit prices to two).
    params: tuple[tuple[str, str], ...] = ()
    id_key: str = ""  # the element's key holding the Xero id of the record it writes
    refused_record: str | None = None
    links_mirror: bool = False  # a create the mirror must then know by its Xero id as the phone's record
    # The Xero id of the invoice whose status and amounts this write changed (read again after it).
    changes_invoice: Callable[[dict[str, Any]], str] | None = field(default=None, compare=False)
    found_again: FoundAgain | None = field(default=None, compare=False)
    one_by_one: bool = False
    already_done: Callable[[Job, XeroReads], Awaitable[bool]] | None = field(default=None, compare=False)
    prepare: Prepare | None = field(default=None, compare=False)
    answered: Callable[[Job, Any, InXero], InXero] | None = field(default=None, compare=False)
    # An invoice write: once Xero has it approved, its online invoice URL is fetched for phones.
    online_invoice: bool = False
    # A one-by-one write goes to ``path/target`` + ``suffix`` (e.g. ``/Invoices/{id}/Email``).
    suffix: str = ""


UNIT_DP_4 = (("unitdp", "4"),)  # an Operation's ``params``: prices to four decimals


@dataclass
class Job:
    """One claimed upload on its way to Xero."""

    item: Claimed
    operation: Operation
    element: dict[str, Any] = field(default_factory=dict)
    target: str = ""  # the Xero id a void or a payment deletion acts on
    conflicts: list[merge.FieldConflict] | None = None  # an edit merged with Xero's record
    fields: dict[str, object] | None = None  # a merged invoice's fields


Settled = tuple[Claimed, Fate, "Operation | None"]


class XeroReads(Protocol):
    """What ``Operation.prepare`` may ask of the forwarding run (``server/forwarding`` answers)."""

    async def contacts_by_id(self, xero_ids: Sequence[str]) -> dict[str, wire.Contact]:
        """Xero's contacts now, by lower-cased id."""
        ...

    async def invoices_by_id(self, xero_ids: Sequence[str]) -> dict[str, wire.Invoice]:
        """Xero's invoices now, by lower-cased id."""
        ...

    async def merge_policy(self) -> merge.Policy: ...

    async def changed_since(
        self, path: str, answer: type[W], since: datetime, params: Mapping[str, str] | None = None
    ) -> list[W]:
        """Every page of Xero's ``path`` changed since ``since`` (If-Modified-Since, a few minutes
        early: Xero stamps a write a little before ledgersync notes it sent), as ``answer`` envelopes.
        A lost create's ``found_again`` looks for its records among them."""
        ...

    async def linked_xero_ids(self, entity: str) -> set[str]:
        """The lower-cased Xero ids ledgersync's records of ``entity`` already hold: a record found
        again is none of these."""
        ...

    async def payment_status(self, xero_id: str) -> str: ...


FoundAgain = Callable[[list[Job], datetime, XeroReads], Awaitable[list[tuple[Job, Fate]]]]
Prepare = Callable[[list[Job], XeroReads], Awaitable[tuple[list[Job], list[Settled]]]]


class Records(Protocol):
    """The feed's current records planning reads (fetched together for a run)."""

    def get(self, cls: type[E], record_id: str) -> E | None: ...


@dataclass(frozen=True)
class XeroIds:
    """The Xero ids of the mirror's tracking options and branding themes an invoice may name."""

    tracking: Mapping[str, tuple[str, str]]
    themes: Mapping[str, str]


@dataclass(frozen=True)
class PlanContext:
    """What planning one upload reads besides its mutation."""

    settings: ForwardingSettings
    organisation: OrganisationSettings | None  # read only when the run holds an invoice
    records: Records
    base_url: str
    ambiguous: bool  # the upload may have reached Xero already (reconciled before it goes again)
    # Read with the organisation: each tracking option's Xero ids (TrackingCategoryID,
    # TrackingOptionID) and each branding theme's Xero id, by ledgersync's id.
    xero_ids: XeroIds = field(default_factory=lambda: XeroIds({}, {}))


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

    # WatermelonDB edits of this kind are judged against the record the app edited (``with_base``).
    edits_have_bases: bool

    def with_base(self, mutation: M, earlier: bytes, named: list[Any] | None) -> M:
        """The edit judged against ``earlier`` (the record's feed payload the app edited), as a native
        phone's ``base``; kinds without edit bases return it unchanged."""
        ...

    async def watermelon_changes(self, push: WatermelonPush) -> list[Unit]:
        """The mutations an app's created and updated rows make of this kind (WatermelonDB's
        push: kinds in registry order, so a customer goes before its invoice)."""
        ...

    async def watermelon_deletions(self, push: WatermelonPush) -> list[Unit]:
        """The mutations an app's deleted rows make of this kind (kinds in reverse registry
        order, so a payment's deletion goes before its invoice's void)."""
        ...


@dataclass
class Unit:
    """One mutation's worth of pushed WatermelonDB rows: what to apply, and which rows answer for it."""

    table: str
    record_id: str
    rows: list[tuple[str, str]]
    mutation: AnyMutation | None = None
    line_ids: list[str] | None = None
    rejection: Rejection | None = None  # the rows could not even be read as a record
    skipped: bool = False  # the server has this already
    deletion: bool = False  # the app deleted the record (a void, a payment deletion)
    removed_lines: list[str] = field(default_factory=list)  # line rows the app deleted in this change
    result: MutationResult | None = None
    # An edit of a record the server has: the app's cursor its edit started from (the adapter's
    # ``_bases``), and the fields the app says it changed (its rows' ``_changed``; None: they do not say).
    base_cursor: int | None = None
    named: list[Any] | None = None


class WatermelonPush(Protocol):
    """What a kind's WatermelonDB hooks read of a push (``server/watermelon`` answers), inside the
    push's transaction."""

    def table(self, name: str) -> TableChanges:
        """The app's changes of one table (empty when it sent none)."""
        ...

    async def record(self, cls: type[E], entity: str, record_id: str) -> E | None:
        """The server's current record (None: none, or deleted)."""
        ...

    async def line_invoices(self, line_ids: Sequence[str]) -> dict[str, str]:
        """The invoice of each line id an app ever pushed (ids the server never had are absent)."""
        ...

    async def line_positions(self, invoice_ids: Sequence[str]) -> dict[str, list[tuple[str, int | None]]]:
        """Every line id ever pushed for these invoices, with its position (None: removed)."""
        ...


# Why an upload is held when a setting keeps it on the server. The console tells these apart from
# Xero's refusals and ledgersync's own problems by this wording (server/forwarding/voices.py).
KEPT_BY_SETTING = "kept on the server: this organisation does not send "


def kept_by_setting(what: str) -> str:
    return f"{KEPT_BY_SETTING}{what} to Xero"


# ledgersync's own reason a change cannot go: the record it changes is gone from Xero.
NO_LONGER_IN_XERO = "is no longer in Xero"

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
