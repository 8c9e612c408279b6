"""Configuration is one typed object read from LEDGERSYNC_* variables."""

from pathlib import Path

import pytest

from server.settings import Settings, SettingsError, describe

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.port == 8000


def test_values_are_read_from_prefixed_variables_and_converted() -> None:
    settings = Settings.from_env(
        {"LEDGERSYNC_PORT": "9001", "LEDGERSYNC_XERO_GRANULAR_SCOPES": "false", "UNRELATED": "x"}
    )
    assert settings.port == 9001
    assert settings.xero_granular_scopes is False


def test_a_bad_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="LEDGERSYNC_PORT"):
        Settings.from_env({"LEDGERSYNC_PORT": "eighty"})


def test_every_setting_is_described_in_the_readme() -> None:
    readme = README.read_text()
    for variable, _default, description in describe():
        assert description, f"{variable} has no description"
        assert f"`{variable}`" in readme, f"{variable} is missing from README's configuration table"
