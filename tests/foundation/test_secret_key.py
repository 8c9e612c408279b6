"""The key that encrypts Xero tokens at rest comes from the environment, never from a file in the tree."""

from __future__ import annotations

import base64
import binascii
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from server.app import create_app
from server.core.crypto import SecretKeyError
from server.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def _env_without_ledgersync(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERSYNC_")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def test_the_server_refuses_to_start_without_a_secret_key_and_writes_no_key_file(tmp_path: Path) -> None:
    database = tmp_path / "ledgersync.sqlite3"
    process = subprocess.run(
        [sys.executable, "-m", "server", "run", "--port", "0"],
        cwd=tmp_path,
        env=_env_without_ledgersync(LEDGERSYNC_DATABASE_URL=f"sqlite:///{database.name}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 2, process.stdout + process.stderr
    assert "LEDGERSYNC_SECRET_KEY is not set" in process.stderr
    assert not list(tmp_path.rglob("*.key")), "no key file may be made in place of the setting"


@pytest.mark.parametrize("database_url", ["sqlite:///:memory:", "sqlite:///ledgersync.sqlite3"])
def test_building_the_app_without_a_key_is_an_error_not_a_key_file(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where the old code wrote its fallback key
    with pytest.raises(SecretKeyError, match="LEDGERSYNC_SECRET_KEY is not set"):
        create_app(Settings(database_url=database_url, secret_key=""))
    assert not list(tmp_path.rglob("*.key"))


_KEY_TEXT = re.compile(r"^[A-Za-z0-9_-]{43}=?$")
_PRIVATE_KEY = "-----BEGIN " + "PRIVATE KEY-----"  # split so this file is not a hit itself


def _looks_like_a_key(path: Path, text: str) -> bool:
    if path.suffix in {".key", ".pem"}:
        return True
    if _PRIVATE_KEY in text or "-----BEGIN RSA " + "PRIVATE" in text:
        return True
    stripped = text.strip()
    if _KEY_TEXT.match(stripped):
        try:
            return len(base64.urlsafe_b64decode(stripped.rstrip("=") + "=")) == 32
        except (binascii.Error, ValueError):
            return False
    return False


def test_nothing_in_the_repository_looks_like_a_key() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found = []
    for name in listed:
        path = REPO / name
        if not path.is_file() or path.stat().st_size > 1_000_000:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if _looks_like_a_key(path, text):
            found.append(name)
    assert found == []
