"""A faithful simulated Xero (identity server + Accounting API) as a real HTTP server.

Nothing in ledgersync imports this package except the CLI and the demo. See docs/xero.md.
"""

from .app import create_sandbox_app
from .cli import run_sandbox_cli
from .config import Limits, RegisteredClient, SandboxConfig
from .faults import FaultSpec
from .sandbox import Sandbox

__all__ = [
    "FaultSpec",
    "Limits",
    "RegisteredClient",
    "Sandbox",
    "SandboxConfig",
    "create_sandbox_app",
    "run_sandbox_cli",
]
