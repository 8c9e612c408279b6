"""What the production wheel holds: the server and its data files, never the sandbox or the bench."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _packages() -> set[str]:
    include = CONFIG["packages"]["find"]["include"]
    return set(find_namespace_packages(where=str(ROOT), include=include))


def test_the_wheel_ships_the_server_the_wire_contract_and_the_reference_client() -> None:
    packages = _packages()
    for needed in (
        "server",
        "server.core",
        "server.admin.console",
        "sync_protocol",
        "mobile_api",
        "reference_client",
    ):
        assert needed in packages


def test_the_xero_sandbox_bench_and_tests_stay_out_of_the_wheel() -> None:
    shipped_roots = {name.split(".")[0] for name in _packages()}
    assert shipped_roots.isdisjoint({"xero_sandbox", "bench", "tests"})


def test_every_console_template_static_file_migration_and_example_is_package_data() -> None:
    data = CONFIG["package-data"]
    needed = {
        "server.admin.console": [*(ROOT / "server/admin/console/templates").rglob("*.html")],
        "server": [
            *(ROOT / "server/migrations/versions").glob("*.py"),
            ROOT / "server/migrations/script.py.mako",
        ],
        "mobile_api": [*(ROOT / "mobile_api/golden").glob("*.json")],  # the OpenAPI examples
    }
    needed["server.admin.console"] += [
        p for p in (ROOT / "server/admin/console/static").rglob("*") if p.is_file()
    ]
    for package, files in needed.items():
        base = ROOT / package.replace(".", "/")
        assert files
        for file in files:
            relative = file.relative_to(base)
            assert any(relative.match(pattern) or _glob(base, pattern, file) for pattern in data[package]), (
                file
            )


def _glob(base: Path, pattern: str, file: Path) -> bool:
    return file in set(base.glob(pattern))
