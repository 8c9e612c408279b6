"""The sandbox's own configuration (independent of ledgersync's settings)."""

from __future__ import annotations

from typing import Literal

import msgspec


class Limits(msgspec.Struct, kw_only=True, frozen=True):
    """Xero's API limits, per tenant unless named app-wide. Minutes and days are sandbox (scaled) time."""

    concurrent: int = 5
    per_minute: int = 60
    per_day: int = 5000
    app_per_minute: int = 10000


class RegisteredClient(msgspec.Struct, kw_only=True, frozen=True):
    """An OAuth app registered with the sandbox (what a developer sets up at developer.xero.com)."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()
    # An app created before 2 March 2026 may still ask for the broad scopes (accounting.transactions,
    # accounting.reports.read); a newer one (the default) gets unauthorized_client at authorize.
    broad_scopes: bool = False


class SandboxConfig(msgspec.Struct, kw_only=True, frozen=True):
    """Everything that shapes one sandbox instance.

    ``time_scale`` speeds up sandbox time: 60 means a Xero minute passes in one real second, so token
    lifetimes, rate-limit windows, grace periods and idempotency windows all shrink by that factor.
    """

    time_scale: float = 1.0
    access_token_seconds: int = 1800
    refresh_grace_seconds: int = 1800
    # Xero's refresh tokens expire after 60 days unused.
    refresh_token_seconds: int = 60 * 24 * 3600
    authorization_code_seconds: int = 300
    idempotency_window_seconds: int = 24 * 3600
    limits: Limits = Limits()
    control_api_enabled: bool = False
    # Approve every authorize request at once (no consent page) for registered clients.
    auto_consent: bool = False
    clients: tuple[RegisteredClient, ...] = ()
    webhook_url: str | None = None
    webhook_key: str | None = None
    # Send webhook events automatically on every contact/invoice change.
    webhook_auto: bool = False
    # Waits (real seconds) before each retry of a delivery that got no 200, as Xero retries with backoff.
    webhook_retry_seconds: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
    # With webhook_auto, events are gathered this long (real seconds) after the first one and sent as one
    # delivery, as Xero batches the events of a moment into one payload.
    webhook_batch_seconds: float = 0.2
    # Events per delivery at most; the rest go in the next one.
    webhook_batch_max_events: int = 100
    state_file: str | None = None
    # Keep the Url (backlink) sent on invoices. False: drop it, as Xero has been reported to do, so
    # clients must find their invoices by other means.
    keep_invoice_url: bool = True
    # Answer the gateway's 401/403 problems with lower-case keys (title, status, detail), a shape Xero's
    # own answers are documented with too; PascalCase (Type, Title, Status, Detail) otherwise.
    lowercase_problems: bool = False
    # How a line's tax ties round when the line does not carry its own TaxAmount (money.py):
    # "half_up" (half away from zero) or "half_even" (banker's). Per organisation: the control API.
    tax_rounding: Literal["half_up", "half_even"] = "half_up"
    # Name the sandbox gives itself in envelopes (ProviderName is the calling app's name in Xero).
    provider_name: str = "ledgersync sandbox"
