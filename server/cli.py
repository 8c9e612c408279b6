"""``python -m server``: run, migrate, demo, create-admin (and, with the sandbox, ``sandbox``)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence

from server.app import serve, several_processes_refused
from server.core.errors import LedgersyncError
from server.db.database import Database
from server.logs import configure_logging
from server.services.admins import AdminService
from server.settings import Settings, SettingsError


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server", description="ledgersync server")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="serve the API (settings from LEDGERSYNC_* variables)")
    run.add_argument("--host", help="bind address (default: LEDGERSYNC_HOST)")
    run.add_argument("--port", type=int, help="port (default: LEDGERSYNC_PORT)")
    run.add_argument(
        "--processes",
        type=positive,
        default=1,
        help="server processes sharing the port, each with its forwarding workers (PostgreSQL only; "
        "see docs/deployment.md)",
    )

    commands.add_parser("migrate", help="apply database migrations and exit")

    forward = commands.add_parser(
        "forward", help="run forwarding workers only (no HTTP); LEDGERSYNC_FORWARDING_WORKERS of them"
    )
    forward.add_argument("--once", action="store_true", help="forward what is due now, then exit")

    demo = commands.add_parser("demo", help="serve with a demo SQLite file and the embedded Xero sandbox")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--sandbox-port", type=int, default=8700, help="port of the embedded Xero sandbox")

    sandbox = commands.add_parser("sandbox", help="run the Xero sandbox alone", add_help=False)
    sandbox.add_argument("sandbox_args", nargs=argparse.REMAINDER)

    admin = commands.add_parser("create-admin", help="create an admin (and their organisation)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--organisation", required=True, help="organisation name (created if new)")
    admin.add_argument("--password", help="password (asked for when omitted)")
    return parser


MISSING_KEY = (
    "LEDGERSYNC_SECRET_KEY is not set; it encrypts the Xero tokens at rest and signs the console's "
    "CSRF tokens. Make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'` and "
    "keep it secret and stable (./dev demo makes its own)."
)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        from xero_sandbox import run_sandbox_cli

        return run_sandbox_cli(argv[1:])
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "run":
        settings = settings.replace(
            **{k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
        )
        if not settings.secret_key.strip():
            print(f"configuration error: {MISSING_KEY}", file=sys.stderr)
            return 2
        if refused := several_processes_refused(settings, args.processes):
            print(f"configuration error: {refused}", file=sys.stderr)
            return 2
        return serve(settings, processes=args.processes)
    if args.command == "migrate":
        configure_logging(settings.log_level)
        asyncio.run(_migrate(settings))
        return 0
    if args.command == "forward":
        if not settings.secret_key.strip():
            print(f"configuration error: {MISSING_KEY}", file=sys.stderr)
            return 2
        configure_logging(settings.log_level)
        return asyncio.run(_forward(settings, once=args.once))
    if args.command == "create-admin":
        password = args.password or getpass.getpass("password: ")
        return asyncio.run(_create_admin(settings, args.email, password, args.organisation))
    if args.command == "demo":
        from server.demo import run_demo

        return run_demo(settings, args.host, args.port, args.sandbox_port)
    return 2


async def _migrate(settings: Settings) -> None:
    database = Database(settings.database_url)
    try:
        await database.migrate()
    finally:
        await database.close()


async def _forward(settings: Settings, once: bool) -> int:
    from server.app import forwarding_workers, process_name, secret_box_for, xero_access

    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    xero = xero_access(settings, database, secret_box_for(settings))
    workers = forwarding_workers(
        settings.replace(forwarding_workers=max(1, settings.forwarding_workers)),
        database,
        xero,
        process_name(),
    )
    try:
        await database.migrate()
        if once:
            for forwarder in workers.forwarders:
                await workers.drain(forwarder)
            return 0
        workers.start()
        await asyncio.Event().wait()  # until interrupted
        return 0
    finally:
        await workers.stop()
        await xero.close()
        await database.close()


async def _create_admin(settings: Settings, email: str, password: str, organisation: str) -> int:
    database = Database(settings.database_url)
    try:
        await database.migrate()
        principal = await AdminService(database).create_admin(email, password, organisation)
    except LedgersyncError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await database.close()
    print(f"admin {principal.email} created for organisation {organisation} ({principal.organisation_id})")
    return 0
