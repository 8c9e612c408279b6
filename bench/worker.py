"""Load generators are processes of their own: configuration as JSON on stdin, results on stdout.

So the server's event loop is never shared with the client measuring it. ``python -m bench.X``
runs ``serve(run)``; the scenario calls ``spawn("bench.X", config)``, then ``finish(process)``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def serve(run: Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]]) -> int:
    """The worker's side: reads its configuration, runs, writes its result."""
    json.dump(asyncio.run(run(json.load(sys.stdin))), sys.stdout)
    return 0


def spawn(module: str, config: dict[str, Any]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", module], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(config).encode())
    process.stdin.close()
    return process


def finish(process: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert process.stdout is not None
    out = process.stdout.read()
    if process.wait() != 0:
        raise RuntimeError(f"{' '.join(map(str, process.args))} failed ({process.returncode})")  # type: ignore[arg-type]
    result: dict[str, Any] = json.loads(out)
    return result
