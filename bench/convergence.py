"""Convergence: the randomized convergence test (tests/convergence) at a larger size than CI runs it.

    python -m bench convergence [--seeds 1-20] [--steps 150] [--devices 2,2] [--db sqlite|postgresql|both]

Not a measurement: a longer search for seeds that break an invariant. It runs the same pytest test with
``LEDGERSYNC_CONVERGENCE_SEEDS``/``_STEPS``/``_DEVICES`` set; a failing seed prints its action log
(rerun it with ``./dev test tests/convergence`` and ``LEDGERSYNC_CONVERGENCE_SEEDS=<seed>``). PostgreSQL
needs ``LEDGERSYNC_TEST_POSTGRES_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench convergence", description="the randomized convergence test, larger"
    )
    parser.add_argument("--seeds", default="1-20", help="a range (1-20), a seed (42), a list (3,11,100-120)")
    parser.add_argument("--steps", type=int, default=150, help="random steps per seed")
    parser.add_argument("--devices", default="2,2", help="native,WatermelonDB devices per seed")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--verbose", action="store_true", help="print every seed's action log, passing or not"
    )
    args = parser.parse_args(argv)

    env = {
        **os.environ,
        "LEDGERSYNC_CONVERGENCE_SEEDS": args.seeds,
        "LEDGERSYNC_CONVERGENCE_STEPS": str(args.steps),
        "LEDGERSYNC_CONVERGENCE_DEVICES": args.devices,
    }
    if args.verbose:
        env["LEDGERSYNC_CONVERGENCE_VERBOSE"] = "1"
    selection = [] if args.db == "both" else ["-k", args.db]
    if args.db in ("postgresql", "both") and not env.get("LEDGERSYNC_TEST_POSTGRES_URL"):
        print("LEDGERSYNC_TEST_POSTGRES_URL is not set: PostgreSQL is skipped", file=sys.stderr)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "-rxXs", "tests/convergence"]
    return subprocess.run([*command, *selection], cwd=ROOT, env=env, check=False).returncode
