"""The consent page a user sees at Xero's authorize endpoint: pick organisations, click Allow."""

from __future__ import annotations

from html import escape

from .store import Organisation

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Xero sandbox - authorise {client}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto}}</style>
</head><body>
<h1>Allow access?</h1>
<p><strong>{client}</strong> wants access to: <code>{scope}</code></p>
<form method="post" action="/identity/connect/authorize">
{hidden}
<fieldset><legend>Organisations</legend>
{orgs}
</fieldset>
<p><button type="submit" name="decision" value="allow" id="allow">Allow access</button>
<button type="submit" name="decision" value="deny" id="deny">Cancel</button></p>
</form></body></html>
"""


def consent_page(
    client_id: str, scope: str, params: dict[str, str], organisations: list[Organisation]
) -> str:
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items()
    )
    orgs = (
        "\n".join(
            f'<label><input type="checkbox" name="tenant" value="{org.tenant_id}" checked> '
            f"{escape(org.name)}</label><br>"
            for org in organisations
        )
        or "<p>No organisations in this sandbox yet.</p>"
    )
    return _PAGE.format(client=escape(client_id), scope=escape(scope), hidden=hidden, orgs=orgs)


def error_page(message: str) -> str:
    return (
        f"<!doctype html><html><head><title>Xero sandbox - error</title></head>"
        f"<body><h1>Error</h1><p>{escape(message)}</p></body></html>"
    )
