"""Configuration: one typed object, read from ``LEDGERSYNC_*`` environment variables.

Nothing else in the code base reads the environment. ``create_app(settings)`` receives a
``Settings`` and hands the pieces to the modules that need them, so tests can build several
apps with different settings side by side.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

import msgspec

ENV_PREFIX = "LEDGERSYNC_"
# Not a setting: the whole Settings of a parent process, as JSON, for its worker processes.
HANDED_DOWN = "LEDGERSYNC__SETTINGS_OF_PARENT"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


def _doc(description: str) -> msgspec.Meta:
    return msgspec.Meta(description=description)


class Settings(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Every setting, its type, default and meaning. Field ``x`` is read from ``LEDGERSYNC_X``."""

    database_url: Annotated[
        str,
        _doc(
            "SQLAlchemy URL of the database. SQLite (aiosqlite) by default; "
            "`postgresql://…` URLs are served through asyncpg."
        ),
    ] = "sqlite:///var/ledgersync.sqlite3"
    database_pool_size: Annotated[
        int,
        _doc(
            "PostgreSQL connections each server process may hold open for its sessions, at most (a "
            "request waits for one when all are busy). Each process also keeps 4 for point reads and 1 "
            "listening: the deployment's budget is processes x (this + 5), see docs/deployment.md. "
            "Ignored on SQLite."
        ),
        msgspec.Meta(ge=1, le=1000),
    ] = 15
    host: Annotated[str, _doc("Address the HTTP server binds to.")] = "127.0.0.1"
    port: Annotated[int, _doc("Port the HTTP server binds to."), msgspec.Meta(ge=0, le=65535)] = 8000
    public_url: Annotated[
        str,
        _doc(
            "Base URL under which users and Xero reach this server (links, OAuth redirect). "
            "Empty: derived from host and port."
        ),
    ] = ""
    secret_key: Annotated[
        str,
        _doc(
            "Key that encrypts secrets at rest (Xero tokens) and signs the console's CSRF tokens: 32 bytes, "
            "urlsafe-base64. Required: the server refuses to start without it (the demo makes its own "
            "beside its database)."
        ),
    ] = ""
    xero_client_id: Annotated[str, _doc("OAuth client id of the Xero app.")] = ""
    xero_client_secret: Annotated[str, _doc("OAuth client secret of the Xero app.")] = ""
    xero_redirect_url: Annotated[
        str,
        _doc("OAuth redirect URL registered with the Xero app. Empty: `<public_url>/admin/xero/callback`."),
    ] = ""
    xero_identity_url: Annotated[
        str, _doc("Base URL of Xero's identity server (authorize, token, revoke).")
    ] = "https://identity.xero.com"
    xero_login_url: Annotated[str, _doc("Base URL of Xero's login server (the browser consent page).")] = (
        "https://login.xero.com"
    )
    xero_api_url: Annotated[str, _doc("Base URL of Xero's API (`/connections`, `/api.xro/2.0`).")] = (
        "https://api.xero.com"
    )
    xero_granular_scopes: Annotated[
        bool,
        _doc(
            "Ask Xero for the granular accounting scopes, the only ones apps created on or after "
            "2 March 2026 may use. `false`: the broad `accounting.transactions` instead, for older apps."
        ),
    ] = True
    sync_interval_minutes: Annotated[
        int,
        _doc(
            "Minutes between scheduled mirror pulls of each connected organisation "
            "(tax rates, customers, products, accounts) when Xero's webhooks are configured (the safety "
            "net for deliveries Xero did not make; without webhooks the interval is sized to Xero's daily "
            "budget, see `sync_interval_floor_minutes`). An organisation's own interval (its Settings) "
            "wins. 0 turns scheduled pulls off."
        ),
        msgspec.Meta(ge=0),
    ] = 15
    pull_on_connect: Annotated[
        bool,
        _doc(
            "Pull everything from Xero as soon as an organisation connects, reconnects or switches "
            "Xero organisation, instead of at the scheduler's next tick. `false`: wait for the tick."
        ),
    ] = True
    sync_interval_floor_minutes: Annotated[
        int,
        _doc(
            "Without Xero webhooks (no `xero_webhook_key`), each organisation is pulled as often as Xero's "
            "daily budget allows (5,000 calls, less `xero_daily_reserve`, over what a pull costs), but "
            "never more often than every this many minutes. With webhooks, `sync_interval_minutes` applies."
        ),
        msgspec.Meta(ge=1, le=1440),
    ] = 2
    sync_lease_seconds: Annotated[
        float,
        _doc(
            "How long a mirror pull holds its organisation between renewals; a pull whose process "
            "died shows as interrupted, and Sync now goes through again, once this has passed."
        ),
        msgspec.Meta(gt=0),
    ] = 300.0
    tombstone_retention_days: Annotated[
        int,
        _doc(
            "Days a deletion (tombstone) stays in the change feed for phones to learn of it; older ones "
            "are purged and a phone whose cursor is older must resync. 0 keeps tombstones forever."
        ),
        msgspec.Meta(ge=0),
    ] = 30
    tombstone_purge_seconds: Annotated[
        float,
        _doc("How often the scheduler purges tombstones older than the retention period."),
        msgspec.Meta(gt=0),
    ] = 3600.0
    xero_daily_reserve: Annotated[
        int,
        _doc(
            "Calls of Xero's daily budget (5,000 per organisation) kept for forwarding uploads: "
            "mirror pulls stop when only this many remain."
        ),
        msgspec.Meta(ge=0, le=5000),
    ] = 500
    forwarding_workers: Annotated[
        int,
        _doc(
            "Forwarding workers in this process (0: none, e.g. when `python -m server forward` runs "
            "them elsewhere). SQLite always runs one."
        ),
        msgspec.Meta(ge=0, le=16),
    ] = 1
    forward_batch_size: Annotated[
        int,
        _doc("Records per Xero request when forwarding (Xero takes up to 50)."),
        msgspec.Meta(ge=1, le=50),
    ] = 50
    forward_claim_seconds: Annotated[
        float,
        _doc(
            "How long a worker holds the items it took; items of a worker that died go again "
            "(after a lookup in Xero) once this has passed."
        ),
        msgspec.Meta(gt=0),
    ] = 600.0
    forward_retry_seconds: Annotated[
        float,
        _doc("First wait before forwarding again after Xero failed; doubles each time, up to an hour."),
        msgspec.Meta(gt=0),
    ] = 30.0
    forward_poll_seconds: Annotated[
        float, _doc("How often an idle forwarding worker looks for due uploads."), msgspec.Meta(gt=0)
    ] = 2.0
    xero_webhook_key: Annotated[
        str,
        _doc(
            "The webhooks signing key Xero shows for the app (developer portal, Webhooks). Set, Xero's "
            "deliveries to `<public_url>/xero/webhooks` are verified with it and start pulls of the records "
            "they name; empty: the receiver refuses every delivery (401) and only scheduled pulls run."
        ),
    ] = ""
    webhook_coalesce_seconds: Annotated[
        float,
        _doc(
            "How long the webhook worker gathers events after the first of a burst before it pulls: "
            "many events for one organisation in this window make one pull."
        ),
        msgspec.Meta(ge=0, le=60),
    ] = 0.5
    poke_heartbeat_seconds: Annotated[
        float,
        _doc("Seconds between heartbeats (comment lines) on an open poke stream, so proxies keep it open."),
        msgspec.Meta(gt=0, le=300),
    ] = 15.0
    max_request_body_bytes: Annotated[
        int, _doc("Largest request body accepted; larger bodies get 413."), msgspec.Meta(gt=0)
    ] = 8 * 1024 * 1024
    keep_alive_seconds: Annotated[
        int,
        _doc(
            "How long an idle HTTP connection stays open for its next request. Longer than clients keep "
            "idle connections (httpx 5 s, browsers and most mobile stacks under a minute), so the client "
            "closes first and never reuses a connection the server is closing."
        ),
        msgspec.Meta(gt=0, le=3600),
    ] = 75
    log_level: Annotated[LogLevel, _doc("Lowest level of log records written (JSON lines on stderr).")] = (
        "INFO"
    )
    device_requests_per_minute: Annotated[
        int,
        _doc("Requests one paired device may make per minute (bursts up to a quarter of it); more get 429."),
        msgspec.Meta(gt=0),
    ] = 600
    pairing_failures_per_minute: Annotated[
        int,
        _doc(
            "Wrong pairing codes one client address may try per minute (as many at once); "
            "more get 429. Successful pairings do not count."
        ),
        msgspec.Meta(gt=0),
    ] = 10
    pulls_per_process: Annotated[
        int,
        _doc(
            "Mirror pulls this process runs at once, claimed oldest due first from every organisation's "
            "due pulls (other processes take the rest). 0: this process pulls nothing on schedule."
        ),
        msgspec.Meta(ge=0, le=64),
    ] = 4
    pull_poll_seconds: Annotated[
        float,
        _doc("How often a process with room for a pull looks for due pulls another process scheduled."),
        msgspec.Meta(gt=0),
    ] = 2.0
    xero_call_lease_seconds: Annotated[
        float,
        _doc(
            "PostgreSQL: how long a Xero call holds one of its tenant's 5 slots if its process dies "
            "mid-call (the slot lapses then). Longer than any call lasts."
        ),
        msgspec.Meta(gt=0),
    ] = 60.0
    xero_minute_seconds: Annotated[
        float,
        _doc(
            "Length of Xero's rate-limit minute in real seconds: 60 against Xero; less only against a "
            "time-scaled sandbox (tests, benches)."
        ),
        msgspec.Meta(gt=0),
    ] = 60.0

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``); ``overrides`` win over both."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.__struct_fields__:
            key = ENV_PREFIX + name.upper()
            if key in env:
                values[name] = env[key]
        values.update(overrides)
        try:
            return msgspec.convert(values, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(_env_name_in(str(exc))) from exc

    def replace(self, **changes: Any) -> Settings:
        return msgspec.structs.replace(self, **changes)

    def handed_down(self) -> dict[str, str]:
        """The environment that makes ``from_env()`` in a child process read these very settings
        (worker processes of ``run --processes N`` import the app afresh)."""
        return {HANDED_DOWN: msgspec.json.encode(self).decode()}

    @classmethod
    def from_parent(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings a parent process handed down (``handed_down``), else ``from_env()``."""
        env = os.environ if environ is None else environ
        if HANDED_DOWN in env:
            return msgspec.json.decode(env[HANDED_DOWN], type=cls)
        return cls.from_env(env)


class SettingsError(ValueError):
    """The environment holds a value that does not fit its setting."""


def _env_name_in(message: str) -> str:
    # msgspec says "... at `$.port`"; name the variable the user actually set.
    for name in Settings.__struct_fields__:
        message = message.replace(f"`$.{name}`", f"{ENV_PREFIX}{name.upper()}")
    return message


def describe() -> Iterator[tuple[str, str, str]]:
    """(variable, default, description) for every setting: the README's configuration table."""
    info = msgspec.inspect.type_info(Settings)
    assert isinstance(info, msgspec.inspect.StructType)
    for field in info.fields:
        description = ""
        if isinstance(field.type, msgspec.inspect.Metadata):
            for extra in (field.type.extra_json_schema or {},):
                description = extra.get("description", "")
        yield ENV_PREFIX + field.name.upper(), repr(field.default), description
