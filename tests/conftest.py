import pytest

from tests.fixtures.xero_spec import missing_spec

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.servers",
    "tests.fixtures.sandbox",
    "tests.fixtures.devices",
    "tests.fixtures.xero_connect",
    "tests.fixtures.browser",
    "tests.fixtures.processes",
]


def pytest_configure(config: pytest.Config) -> None:
    # Checked once in the controlling process, before xdist starts its workers: a missing spec ends the
    # run with one message saying where it was looked for, not with each worker exiting on its own.
    if hasattr(config, "workerinput"):
        return
    missing = missing_spec()
    if missing is not None:
        pytest.exit(missing, returncode=pytest.ExitCode.USAGE_ERROR)
