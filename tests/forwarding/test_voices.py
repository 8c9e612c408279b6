"""Who said it: Xero's refusals, a setting's doing and ledgersync's own problems are told apart, and
each message of a run's error is said once (server/forwarding/voices.py)."""

from __future__ import annotations

from server.forwarding.voices import RETRY_HINT, Voice, of_run_error, of_upload, voice_of_forwarding_error
from server.kinds.base import kept_by_setting
from server.kinds.customer import ARCHIVED_IN_XERO
from server.kinds.invoice import NO_REVENUE_ACCOUNT
from server.kinds.payment import NO_BANK_ACCOUNT

REFUSED = "Account code '270' is not a valid code for this document."


def test_an_uploads_message_is_told_by_its_state_and_wording() -> None:
    xero = of_upload("failed", REFUSED)
    assert xero is not None
    assert (xero.voice, xero.label) == (Voice.XERO, "Xero refused")
    for own, hint in (
        (NO_REVENUE_ACCOUNT, "revenue account"),
        (NO_BANK_ACCOUNT, "bank account"),
        (ARCHIVED_IN_XERO, "Restore the contact"),
    ):
        said = of_upload("failed", own)
        assert said is not None
        assert (said.voice, said.label) == (Voice.LEDGERSYNC, "ledgersync could not send")
        assert hint in (said.hint or "")
    blocked = of_upload("failed", "not sent: invoice INV-1 did not reach Xero (Xero refused it); ...")
    assert blocked is not None
    assert blocked.voice is Voice.LEDGERSYNC
    held = of_upload("held", kept_by_setting("payments"))
    assert held is not None
    assert (held.voice, held.label) == (Voice.SETTINGS, "Kept by your settings")
    assert "Settings" in (held.hint or "")
    retrying = of_upload("retrying", "Xero did not answer in time")
    assert retrying is not None
    assert (retrying.voice, retrying.hint) == (Voice.LEDGERSYNC, RETRY_HINT)
    assert of_upload("in_xero", "") is None


def test_a_forwarding_error_records_xero_as_the_speaker_only_for_xeros_words() -> None:
    assert voice_of_forwarding_error(REFUSED, retrying=False) is Voice.XERO
    assert voice_of_forwarding_error(NO_REVENUE_ACCOUNT, retrying=False) is Voice.LEDGERSYNC
    assert voice_of_forwarding_error("Xero answered 503", retrying=True) is Voice.LEDGERSYNC


def test_each_message_of_a_runs_error_is_said_once() -> None:
    # Runs logged before errors carried a voice put the message in xero_messages too, even ledgersync's.
    for message, voice in ((REFUSED, Voice.XERO), (NO_REVENUE_ACCOUNT, Voice.LEDGERSYNC)):
        error = {"data_type": "invoice", "message": message, "xero_messages": [message]}
        [said] = of_run_error(error, "forward")
        assert (said.voice, said.text) == (voice, message)
    # A pull Xero refused: Xero's own messages, each once; its summary is not repeated.
    pull = {
        "data_type": "customers",
        "message": "A validation exception occurred",
        "xero_messages": ["A", "A"],
    }
    assert [(s.voice, s.text) for s in of_run_error(pull, "pull")] == [(Voice.XERO, "A")]
    # A pull that could not reach Xero is ledgersync's.
    [lost] = of_run_error({"data_type": "customers", "message": "Xero did not answer"}, "pull")
    assert lost.label == "ledgersync could not fetch from Xero"
    [retry] = of_run_error(
        {"message": "Xero answered 503", "voice": "ledgersync", "xero_messages": [], "retrying": True},
        "forward",
    )
    assert (retry.label, retry.hint) == ("ledgersync could not send", RETRY_HINT)
