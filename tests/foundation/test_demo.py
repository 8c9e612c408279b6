"""The demo command a newcomer runs first: it comes up ready and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.ports import free_port

REPO = Path(__file__).resolve().parents[2]


def wait_ready(url: str, process: subprocess.Popen[str], timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def test_demo_serves_ready_with_the_sandbox_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERSYNC_")}
    env["PYTHONPATH"] = str(REPO)
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "demo", "--port", str(port), "--sandbox-port", str(sandbox_port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_ready(f"http://127.0.0.1:{port}/readyz", process).status_code == 200
        organisations = httpx.get(f"http://127.0.0.1:{sandbox_port}/_sandbox/organisations").json()
        assert len(organisations) == 1
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "admin@demo.example" in output
    assert f"http://127.0.0.1:{port}/admin " in output  # the console
    assert (tmp_path / "var" / "demo.sqlite3").exists()
    assert (tmp_path / "var" / "demo-sandbox.pickle").exists()
    assert (tmp_path / "var" / "demo-secret.key").exists()  # the demo's own key, beside its database


def run_demo_with_a_port_taken(tmp_path: Path, which: str) -> subprocess.CompletedProcess[str]:
    """The demo started while another program listens on its own port or on the sandbox's."""
    ports = {"--port": free_port(), "--sandbox-port": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERSYNC_")}
    env["PYTHONPATH"] = str(REPO)
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # free_port left it in TIME_WAIT
        other.bind(("127.0.0.1", ports[which]))
        other.listen()
        return subprocess.run(
            [sys.executable, "-m", "server", "demo", *(str(x) for pair in ports.items() for x in pair)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.mark.parametrize(
    ("which", "what"), [("--port", "ledgersync"), ("--sandbox-port", "the Xero sandbox")]
)
def test_a_taken_port_is_said_plainly_before_anything_starts(tmp_path: Path, which: str, what: str) -> None:
    finished = run_demo_with_a_port_taken(tmp_path, which)
    said = finished.stdout + finished.stderr
    assert finished.returncode == 2, said
    assert f"for {what}, is already in use" in finished.stderr
    assert f"./dev demo {which} " in finished.stderr  # what to do instead
    assert "Traceback" not in said
    assert "admin@demo.example" not in said  # no banner with URLs and credentials
    assert not (tmp_path / "var").exists()  # nothing was made


def test_the_two_ports_must_differ(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERSYNC_")}
    env["PYTHONPATH"] = str(REPO)
    finished = subprocess.run(
        [sys.executable, "-m", "server", "demo", "--port", str(port), "--sandbox-port", str(port)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert "cannot share port" in finished.stderr
    assert "Traceback" not in finished.stderr
