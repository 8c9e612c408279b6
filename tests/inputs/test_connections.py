"""Connections a phone keeps alive between requests are not cut under it, and a pull that loses its
connection anyway is simply asked again."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from server.core.crypto import new_key_text
from server.db.database import Database
from tests.factories import publish_entities, standard_mirror
from tests.fixtures.devices import NewPhone
from tests.fixtures.xero_connect import free_port

REPO = Path(__file__).resolve().parents[2]


def _get(sock: socket.socket, path: str) -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        if not chunk:
            return answer
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_the_server_keeps_an_idle_connection_open_longer_than_clients_do(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERSYNC_")}
    env.update(
        PYTHONPATH=str(REPO),
        LEDGERSYNC_DATABASE_URL=f"sqlite:///{tmp_path / 'ledgersync.sqlite3'}",
        LEDGERSYNC_SECRET_KEY=new_key_text(),
        LEDGERSYNC_PORT=str(port),
        LEDGERSYNC_FORWARDING_WORKERS="0",
        LEDGERSYNC_SYNC_INTERVAL_MINUTES="0",
        LEDGERSYNC_LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen([sys.executable, "-m", "server", "run"], cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            assert _get(sock, "/healthz").startswith(b"HTTP/1.1 200")
            time.sleep(6.5)  # past uvicorn's default 5 s keep-alive, as a phone idles between pulls
            assert _get(sock, "/healthz").startswith(b"HTTP/1.1 200"), "the idle connection was closed"
    finally:
        process.terminate()
        process.wait(timeout=30)


class DropPulls(httpx.AsyncBaseTransport):
    """Cuts the connection under the first ``times`` pulls, as a server closing a kept-alive one would."""

    def __init__(self, times: int) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.remaining = times
        self.dropped = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/mobile/v1/changes" and self.remaining > 0:
            self.remaining -= 1
            self.dropped += 1
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_the_reference_client_asks_again_when_a_pull_loses_its_connection(
    new_phone: NewPhone, server_db: Database, acme_id: uuid.UUID
) -> None:
    await publish_entities(server_db, acme_id, standard_mirror())
    transport = DropPulls(times=2)
    phone = await new_phone(transport=transport)

    report = await phone.refresh()

    assert transport.dropped == 2
    assert report.changes > 0
    assert phone.store.cursor > 0
