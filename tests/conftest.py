pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.servers",
    "tests.fixtures.sandbox",
    "tests.fixtures.devices",
    "tests.fixtures.xero_connect",
    "tests.fixtures.browser",
    "tests.fixtures.processes",
]
