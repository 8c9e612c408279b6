"""``python -m server demo``: ledgersync on a demo SQLite file with the Xero sandbox beside it.

Everything a newcomer needs comes up with one command: the sandbox (a simulated Xero with one seeded
organisation, its state kept in ``var/`` across restarts), ledgersync configured to talk to it over
real HTTP exactly as it would talk to Xero, and a demo admin account.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import sys
from pathlib import Path

from server.app import serve
from server.core.crypto import load_or_create_dev_key
from server.core.errors import Conflict
from server.db.database import Database
from server.http.serving import ServerStartError, ServerThread
from server.services.admins import AdminService
from server.settings import Settings
from xero_sandbox import RegisteredClient, SandboxConfig, create_sandbox_app

DEMO_DATABASE = "sqlite:///var/demo.sqlite3"
DEMO_SANDBOX_STATE = "var/demo-sandbox.pickle"
DEMO_ADMIN_EMAIL = "admin@demo.example"
DEMO_ADMIN_PASSWORD = "demo-password"
DEMO_ORGANISATION = "Demo Field Services"
DEMO_CLIENT_ID = "ledgersync-demo"
DEMO_CLIENT_SECRET = "ledgersync-demo-secret"


async def _prepare(settings: Settings) -> None:
    database = Database(settings.database_url)
    try:
        await database.migrate()
        with contextlib.suppress(Conflict):  # a previous demo run made it
            await AdminService(database).create_admin(
                DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_ORGANISATION
            )
    finally:
        await database.close()


def start_sandbox(redirect_url: str, port: int) -> ServerThread:
    Path(DEMO_SANDBOX_STATE).parent.mkdir(parents=True, exist_ok=True)
    config = SandboxConfig(
        control_api_enabled=True,
        clients=(
            RegisteredClient(
                client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET, redirect_uris=(redirect_url,)
            ),
        ),
        state_file=DEMO_SANDBOX_STATE,
    )
    app = create_sandbox_app(config)
    server = ServerThread(app, port=port)
    server.start()  # loads the saved state, if any, at startup
    sandbox = app.state.sandbox
    if not sandbox.state.organisations:
        sandbox.create_organisation(name="Demo Company (NZ)", contacts_count=50, items_count=20)
    return server


def demo_key_path(database_url: str) -> Path:
    """Where the demo keeps its generated key: beside its SQLite file, else under ``var/``."""
    database_file = database_url.partition(":///")[2] if database_url.startswith("sqlite") else ""
    folder = Path(database_file).parent if database_file and database_file != ":memory:" else Path("var")
    return folder / "demo-secret.key"


# What the demo exits with when it cannot start (nothing printed but the reason): a usage problem.
CANNOT_START = 2


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on now, or None when it can (port 0: any free port)."""
    if port == 0:
        return None
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: a port left in TIME_WAIT by a demo just stopped is free to use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "is already in use (a demo still running? another program?)"
            if exc.errno == errno.EACCES:
                return "needs privileges this user lacks"
            return f"cannot be used: {exc.strerror or exc}"
    return None


def ports_problem(host: str, port: int, sandbox_port: int) -> str | None:
    """What to tell a newcomer when the demo's ports cannot both be had, before anything starts."""
    if port and port == sandbox_port:
        return (
            f"ledgersync and the Xero sandbox cannot share port {port}: choose another with "
            f"--sandbox-port (e.g. ./dev demo --sandbox-port {port + 700})."
        )
    for what, number, option, other in (
        ("ledgersync", port, "--port", port + 1),
        ("the Xero sandbox", sandbox_port, "--sandbox-port", sandbox_port + 1),
    ):
        problem = port_problem(host if what == "ledgersync" else "127.0.0.1", number)
        if problem:
            return (
                f"The demo cannot start: port {number}, for {what}, {problem}.\n"
                f"Stop whatever uses it (`ss -ltnp 'sport = :{number}'` shows which program), or choose "
                f"another port: ./dev demo {option} {other}"
            )
    return None


def run_demo(settings: Settings, host: str, port: int, sandbox_port: int = 0) -> int:
    # Both ports first: a taken one is said plainly, before any banner, rather than as a traceback.
    problem = ports_problem(host, port, sandbox_port)
    if problem:
        print(problem, file=sys.stderr)
        return CANNOT_START
    if settings.database_url == Settings().database_url:
        settings = settings.replace(database_url=DEMO_DATABASE)
    settings = settings.replace(host=host, port=port)
    if not settings.secret_key.strip():
        # The demo's own key beside its database (never in the repository: var/ is ignored).
        settings = settings.replace(secret_key=load_or_create_dev_key(demo_key_path(settings.database_url)))
    redirect_url = settings.xero_redirect_url or f"{settings.base_url}/admin/xero/callback"
    asyncio.run(_prepare(settings))
    try:
        sandbox = start_sandbox(redirect_url, sandbox_port)
    except ServerStartError:  # taken between the check and now
        print(ports_problem(host, 0, sandbox_port) or "The Xero sandbox did not start.", file=sys.stderr)
        return CANNOT_START
    settings = settings.replace(
        xero_login_url=sandbox.base_url,
        xero_identity_url=sandbox.base_url,
        xero_api_url=sandbox.base_url,
        xero_client_id=DEMO_CLIENT_ID,
        xero_client_secret=DEMO_CLIENT_SECRET,
        xero_redirect_url=redirect_url,
    )
    base = settings.base_url
    print(
        f"""
ledgersync demo
  admin console {base}/admin   sign in as {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}
  server        {base}
  ready?        {base}/readyz
  API docs      {base}/schema
  database      {settings.database_url}
  Xero sandbox  {sandbox.base_url}   (client {DEMO_CLIENT_ID}; control API {sandbox.base_url}/_sandbox)

In the console: Home → Connect to Xero (allow on the sandbox's page; a first sync starts), the set-up
checklist (Settings, Devices), Uploads.
Or by the admin API (POST {base}/admin/api/session for a token, then `Authorization: Bearer …`):
  1. GET  {base}/admin/api/xero/connect      the consent page; allow: Xero connects, a first pull starts
  2. GET  {base}/admin/api/sync-runs         the sync log (POST {base}/admin/api/sync: Sync now)
  3. POST {base}/admin/api/devices/pairing-codes {{"staff_name": "Sam"}}, then a phone pairs with
     POST {base}/mobile/v1/pair and pulls GET {base}/mobile/v1/changes   (docs/protocol.md)
Press Ctrl-C to stop.
""",
        flush=True,
    )
    try:
        return serve(settings)
    finally:
        sandbox.stop()  # saves the sandbox's state for the next run
