"""Where an upload stands in the outbox: its ``state`` (see ``server.core.outbox`` for the moves).

A ``StrEnum``: each member is its own string, so the ``uploads.state`` column and the ``state`` a
phone reads keep exactly the values they had as bare strings. Rows read back from the database hold
plain strings; they compare equal to the members (``row.state == UploadState.FAILED``), and
``UploadState(row.state)`` gives the member where its helpers are wanted.
"""

from __future__ import annotations

from enum import StrEnum

from sync_protocol.entities import UploadState as WireUploadState


class UploadState(StrEnum):
    REJECTED = "rejected"  # refused at the door; never forwarded
    WAITING = "waiting"  # accepted, behind an upload it depends on
    ACCEPTED = "accepted"  # due (at ``next_attempt_at``, if set)
    FORWARDING = "forwarding"  # claimed by a worker until ``claim_expires_at``
    IN_XERO = "in_xero"  # done: Xero has it
    RETRYING = "retrying"  # a transient failure; due again at ``next_attempt_at``
    FAILED = "failed"  # Xero refused it (or an upload it needs failed: blocked)
    HELD = "held"  # kept on the server by a setting
    SUPERSEDED = "superseded"  # a failed upload replaced by a corrected one of the same record

    @property
    def is_resolved(self) -> bool:
        """No longer holds its dependants back."""
        return self in RESOLVED_STATES

    @property
    def is_due(self) -> bool:
        """A worker may claim it (when ``next_attempt_at`` has come)."""
        return self in DUE_STATES

    @property
    def is_open(self) -> bool:
        """Neither done nor dead: the record still has somewhere to go."""
        return self in OPEN_STATES

    @property
    def is_pending(self) -> bool:
        """May still change a record as phones see it before Xero sees the change."""
        return self in PENDING_STATES

    @property
    def is_live(self) -> bool:
        """Counts as the record's latest upload (neither refused at the door nor replaced)."""
        return self not in DEAD_STATES

    @property
    def on_wire(self) -> WireUploadState:
        """The state as a record's ``sync.state`` names it; rejected and superseded uploads never
        stamp a record (``KeyError``)."""
        return _ON_WIRE[self]


# Tuples, not sets: they go into ``IN (...)`` lists, whose order then stays the same.
RESOLVED_STATES = (UploadState.IN_XERO, UploadState.HELD)
DUE_STATES = (UploadState.ACCEPTED, UploadState.RETRYING)
OPEN_STATES = (
    UploadState.WAITING,
    UploadState.ACCEPTED,
    UploadState.FORWARDING,
    UploadState.RETRYING,
    UploadState.FAILED,
)
PENDING_STATES = (UploadState.WAITING, UploadState.ACCEPTED, UploadState.FORWARDING, UploadState.RETRYING)
DEAD_STATES = (UploadState.REJECTED, UploadState.SUPERSEDED)
# What an admin may send again.
RETRYABLE_STATES = (UploadState.FAILED, UploadState.HELD, UploadState.RETRYING)

_ON_WIRE: dict[UploadState, WireUploadState] = {
    UploadState.ACCEPTED: "accepted",
    UploadState.WAITING: "waiting",
    UploadState.FORWARDING: "forwarding",
    UploadState.IN_XERO: "in_xero",
    UploadState.RETRYING: "retrying",
    UploadState.FAILED: "failed",
    UploadState.HELD: "held",
}
