"""When PostgreSQL cannot take a request (its connections cut, new ones refused), phones and admins get
``503 unavailable`` with ``Retry-After``, never a 500, and the server serves again by itself once the
database is back.

The server reaches PostgreSQL through a TCP gate in the test: open, it forwards; shut, it cuts every
connection through it and refuses new ones, as a restarting or overloaded PostgreSQL does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import make_url

from server.http.serving import ServerThread
from server.settings import Settings
from sync_protocol.version import PROTOCOL_HEADER, PROTOCOL_VERSION
from tests.fixtures.databases import PostgresDatabase
from tests.fixtures.devices import NewPhone
from tests.fixtures.ports import free_port


class TcpGate:
    """A TCP forwarder to ``upstream`` on a loop of its own (the server under test is in another thread)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> TcpGate:
        self._thread.start()
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.shut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self, coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)  # type: ignore[arg-type]

    def open(self) -> None:
        async def start() -> None:
            self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)

        self._run(start())

    def shut(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

        self._run(stop())

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture
def gate(postgres_database: PostgresDatabase) -> Iterator[TcpGate]:
    url = make_url(postgres_database.url)
    with TcpGate(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running


@pytest.fixture
def settings(settings: Settings, postgres_database: PostgresDatabase, gate: TcpGate) -> Settings:
    through_gate = make_url(postgres_database.url).set(host="127.0.0.1", port=gate.port)
    return settings.replace(database_url=through_gate.render_as_string(hide_password=False))


async def _until_served(request: httpx.Request, client: httpx.AsyncClient) -> httpx.Response:
    for _ in range(50):  # a phone comes back after Retry-After; so does this
        response = await client.send(request)
        if response.status_code != 503:
            return response
        await asyncio.sleep(0.2)
    raise AssertionError("the server did not serve again after the database came back")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_phones_and_admins_get_503_while_the_database_is_away_and_are_served_once_it_is_back(
    new_phone: NewPhone, admin_client: httpx.AsyncClient, ledgersync: ServerThread, gate: TcpGate
) -> None:
    phone = await new_phone()
    await phone.refresh()
    headers = {"Authorization": f"Bearer {phone.token}", PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    async with httpx.AsyncClient(base_url=ledgersync.base_url, headers=headers, timeout=30) as phone_http:
        gate.shut()
        try:
            pull = await phone_http.get("/mobile/v1/changes", params={"cursor": 0})
            devices = await admin_client.get("/admin/api/devices")
        finally:
            gate.open()

        for answer in (pull, devices):
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "unavailable"
            assert int(answer.headers["Retry-After"]) >= 1

        pull_again = await _until_served(phone_http.build_request("GET", "/mobile/v1/changes"), phone_http)
    devices_again = await _until_served(admin_client.build_request("GET", "/admin/api/devices"), admin_client)
    assert pull_again.status_code == 200
    assert devices_again.status_code == 200
    assert [device["staff_name"] for device in devices_again.json()] == ["Sam Field"]
