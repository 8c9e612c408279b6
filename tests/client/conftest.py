"""Client tests run against ledgersync connected to the consenting Xero sandbox, mirrored (the
forwarding tests' setup: ``tests/forwarding/conftest.py``)."""

from tests.forwarding.conftest import forwarding, ledgersync, settings

__all__ = ["forwarding", "ledgersync", "settings"]
