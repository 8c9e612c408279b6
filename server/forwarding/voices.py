"""Who said it: every message about an upload is Xero's refusal, a setting's doing, or ledgersync's own.

An admin acts differently on each: Xero's words are fixed in the record (or in Xero), a held upload goes
once the setting changes, and ledgersync's own problems (no revenue or bank account chosen, Xero not
answering) are fixed in the console or pass by themselves. So the console labels each message with its
voice, once, with what to do ("Xero refused: …", "Kept by your settings: …", "ledgersync could not
send: …").

Uploads keep one ``last_error`` text, so the voice is told from the upload's state and, for a failure,
from ledgersync's own wordings (the constants of ``server/kinds``): any other failure's message is
Xero's. Errors of the sync log written since carry their ``voice``; older ones are told the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from server.core.outbox import BLOCKED_PREFIX
from server.core.states import UploadState
from server.kinds.base import KEPT_BY_SETTING, NO_LONGER_IN_XERO
from server.kinds.customer import ARCHIVED_IN_XERO
from server.kinds.invoice import NO_REVENUE_ACCOUNT
from server.kinds.payment import NO_BANK_ACCOUNT


class Voice(StrEnum):
    XERO = "xero"  # Xero's own words: it refused the record
    SETTINGS = "settings"  # a setting keeps the upload on the server
    LEDGERSYNC = "ledgersync"  # ledgersync's own: it could not send (or fetch), or refused at upload
    NOTE = "note"  # nothing wrong: ledgersync says what it did (e.g. a void that never needed Xero)
    WAITING = "waiting"  # behind an earlier upload


LABELS = {
    Voice.XERO: "Xero refused",
    Voice.SETTINGS: "Kept by your settings",
    Voice.LEDGERSYNC: "ledgersync could not send",
    Voice.NOTE: "Note",
    Voice.WAITING: "Waiting",
}
PULL_LABEL = "ledgersync could not fetch from Xero"
REJECTED_LABEL = "ledgersync refused it at upload"

RETRY_HINT = "Nothing to do: ledgersync tries again by itself. Retry sends it now."
SETTINGS_HINT = "To send it to Xero, turn that option on in Settings, then Retry."

# ledgersync's own reasons a change cannot go, with what to do about each.
_OWN: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (
        re.compile(re.escape(NO_REVENUE_ACCOUNT)),
        "Choose a revenue account for sales in Settings, then Retry.",
    ),
    (
        re.compile(re.escape(NO_BANK_ACCOUNT)),
        "Choose the bank account for payments in Settings, then Retry.",
    ),
    (
        re.compile(r"^the customer \S+ was archived or deleted in Xero"),
        "Restore the contact in Xero and Retry, or put the invoice on another customer on the phone.",
    ),
    (
        re.compile("^" + re.escape(ARCHIVED_IN_XERO)),
        "Restore the contact in Xero, then make the change again on a phone.",
    ),
    (
        re.compile(re.escape(NO_LONGER_IN_XERO) + "$"),
        "Someone deleted or archived it in Xero after it was sent. Restore it in Xero and Retry, or "
        "leave it.",
    ),
    (
        re.compile("^" + re.escape(BLOCKED_PREFIX)),
        "Fix the earlier upload it needs (its page has Retry); this one then goes by itself.",
    ),
)


@dataclass(frozen=True)
class Said:
    voice: Voice
    text: str
    hint: str | None = None  # ledgersync's own hint; Xero's messages get theirs from error_hints
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", LABELS[self.voice])


def own_failure(message: str) -> tuple[bool, str | None]:
    """Whether a failure's message is ledgersync's own, and its hint."""
    for pattern, hint in _OWN:
        if pattern.search(message):
            return True, hint
    return False, None


def of_failure(message: str) -> Said:
    own, hint = own_failure(message)
    return Said(Voice.LEDGERSYNC, message, hint) if own else Said(Voice.XERO, message)


def of_held(reason: str) -> Said:
    if reason.startswith(KEPT_BY_SETTING):
        return Said(Voice.SETTINGS, reason, SETTINGS_HINT)
    return Said(Voice.NOTE, reason)


def of_upload(state: str, message: str) -> Said | None:
    """Who said an upload's ``last_error``, or None when it has none."""
    if not message:
        return None
    match UploadState(state):
        case UploadState.FAILED:
            return of_failure(message)
        case UploadState.HELD:
            return of_held(message)
        case UploadState.RETRYING:
            return Said(Voice.LEDGERSYNC, message, RETRY_HINT)
        case UploadState.WAITING:
            return Said(Voice.WAITING, message)
        case UploadState.REJECTED:
            return Said(Voice.LEDGERSYNC, message, label=REJECTED_LABEL)
        case _:
            # In Xero, but not quite as the phone had it (e.g. Xero's totals differ), or superseded.
            return Said(Voice.NOTE, message)


def voice_of_forwarding_error(message: str, retrying: bool) -> Voice:
    """The voice a forwarding run records with an error (``Forwarder``)."""
    if retrying:
        return Voice.LEDGERSYNC
    return of_failure(message).voice


def of_run_error(error: dict[str, Any], run_kind: str) -> list[Said]:
    """What an error of the sync log says, each message once: Xero's refusals as Xero's, the rest as
    ledgersync's (a pull that could not fetch, a send that could not go, a run cut short)."""
    message = str(error.get("message") or "")
    xero_messages = [str(m) for m in error.get("xero_messages") or [] if m]
    recorded = str(error.get("voice") or "")
    if recorded in set(Voice):
        voice = Voice(recorded)
    elif error.get("retrying"):
        voice = Voice.LEDGERSYNC
    elif xero_messages and not own_failure(message)[0]:
        voice = Voice.XERO
    else:
        voice = Voice.LEDGERSYNC
    if voice is Voice.XERO:
        texts = xero_messages or [message]
        return [Said(Voice.XERO, text) for text in dict.fromkeys(texts)]
    _, hint = own_failure(message)
    if error.get("retrying"):
        hint = RETRY_HINT
    label = PULL_LABEL if run_kind == "pull" else ""
    said = [Said(voice, message, hint, label)]
    # What Xero said besides, when it differs from ledgersync's own account.
    said += [
        Said(Voice.XERO, text, label="Xero said") for text in dict.fromkeys(xero_messages) if text != message
    ]
    return said


__all__ = ["LABELS", "Said", "Voice", "of_run_error", "of_upload", "voice_of_forwarding_error"]
