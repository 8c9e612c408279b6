"""Run an ASGI app under uvicorn on a real socket, in a thread of its own.

The demo runs the Xero sandbox beside ledgersync this way, and tests start real servers on
free loopback ports with it: real HTTP, its own event loop, stopped cleanly on exit.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


class ServerStartError(RuntimeError):
    """The server thread did not start listening (port taken, startup hook failed, …)."""


class ServerThread:
    """A uvicorn server running ``app`` in a background thread.

    ``port=0`` asks the OS for a free port; ``base_url`` tells which one it got.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, **uvicorn_options: Any) -> None:
        # Idle connections stay open longer than clients keep them (httpx: 5 s), as ``server run`` does
        # (Settings.keep_alive_seconds): with uvicorn's default of 5 s too, a client under load could send
        # its next request on a connection the server was just closing ("Server disconnected").
        options: dict[str, Any] = {
            "log_level": "warning",
            "lifespan": "on",
            "access_log": False,
            "timeout_keep_alive": 75,
        }
        options.update(uvicorn_options)
        self._config = uvicorn.Config(app, host=host, port=port, **options)
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(target=self._run, name=f"uvicorn-{host}:{port}", daemon=True)
        self._error: BaseException | None = None
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve())
        except BaseException as exc:  # surfaced by start()
            self._error = exc

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServerStartError(f"server on {self.host}:{self.port} did not start") from self._error
            time.sleep(0.01)
        sockets = [s for server in self._server.servers for s in server.sockets]
        if sockets:
            self.port = sockets[0].getsockname()[1]

    def stop(self, timeout: float = 30.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextmanager
def serve_in_thread(
    app: Any, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> Iterator[ServerThread]:
    """``with serve_in_thread(app) as srv: httpx.get(srv.base_url + "/healthz")``."""
    with ServerThread(app, host, port, **options) as server:
        yield server
