"""Messages as the console shows them: who said it (``server/forwarding/voices.py``), once, with a hint."""

from __future__ import annotations

from typing import Any

from server.forwarding.outbox_admin import UploadView
from server.forwarding.voices import Said, of_run_error, of_upload
from server.services.error_hints import hint_for


def shown(said: Said) -> dict[str, Any]:
    # ledgersync's own hint when it has one, else the plain-language hint for a common Xero message.
    return {
        "voice": str(said.voice),
        "label": said.label,
        "text": said.text,
        "hint": said.hint or hint_for(said.text),
    }


def of_upload_view(upload: UploadView) -> dict[str, Any] | None:
    said = of_upload(upload.state, upload.last_error)
    return shown(said) if said is not None else None


def of_error(error: dict[str, Any], run_kind: str) -> list[dict[str, Any]]:
    return [shown(said) for said in of_run_error(error, run_kind)]
