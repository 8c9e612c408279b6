"""`python -m server sandbox --port N`: run the sandbox alone."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from .app import create_sandbox_app
from .config import RegisteredClient, SandboxConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server sandbox", description="Run the Xero sandbox.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--time-scale", type=float, default=1.0, help="60: a Xero minute lasts one second")
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", default="sandbox-secret")
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="registered redirect URI (repeatable); default http://127.0.0.1:8000/admin/xero/callback",
    )
    parser.add_argument("--no-control-api", action="store_true", help="hide /_sandbox (as real Xero would)")
    parser.add_argument("--auto-consent", action="store_true", help="skip the consent page")
    parser.add_argument("--webhook-url")
    parser.add_argument("--webhook-key")
    parser.add_argument("--webhook-auto", action="store_true", help="send webhooks on every change")
    parser.add_argument("--state-file", help="load state from / save it to this file")
    parser.add_argument(
        "--broad-scopes",
        action="store_true",
        help="register the app as one created before March 2026 (may ask for accounting.transactions)",
    )
    parser.add_argument("--seed-organisation", action="store_true", help="start with one seeded organisation")
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    redirect_uris = tuple(args.redirect_uri or ["http://127.0.0.1:8000/admin/xero/callback"])
    return SandboxConfig(
        time_scale=args.time_scale,
        control_api_enabled=not args.no_control_api,
        auto_consent=args.auto_consent,
        clients=(
            RegisteredClient(
                client_id=args.client_id,
                client_secret=args.client_secret,
                redirect_uris=redirect_uris,
                broad_scopes=args.broad_scopes,
            ),
        ),
        webhook_url=args.webhook_url,
        webhook_key=args.webhook_key,
        webhook_auto=args.webhook_auto,
        state_file=args.state_file,
    )


def run_sandbox_cli(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    app = create_sandbox_app(config)
    if args.seed_organisation and not (config.state_file and app.state.sandbox.load(config.state_file)):
        app.state.sandbox.create_organisation()
    print(f"Xero sandbox on http://{args.host}:{args.port} (client_id={args.client_id})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
