"""Tests here run ledgersync against the consenting Xero sandbox (see tests/fixtures/xero_connect.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.app import create_app
from server.http.serving import ServerThread
from server.settings import Settings
from tests.fixtures.sandbox import RunningSandbox
from tests.fixtures.xero_connect import fast, free_port, point_at


@pytest.fixture
def settings(settings: Settings, xero_sandbox: RunningSandbox) -> Settings:
    return point_at(settings, xero_sandbox, free_port())


@pytest.fixture
def ledgersync(settings: Settings) -> Iterator[ServerThread]:
    with ServerThread(fast(create_app(settings)), port=settings.port) as server:
        yield server
