"""State survives a restart through state_file; the CLI builds the config it is asked for."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.sandbox import TEST_CLIENT, sandbox_config
from xero_sandbox import SandboxConfig, create_sandbox_app
from xero_sandbox.cli import build_parser, config_from_args


def test_state_file_round_trip(tmp_path: Path) -> None:
    config = sandbox_config(state_file=str(tmp_path / "sandbox-state.bin"))
    first = create_sandbox_app(config).state.sandbox
    org = first.create_organisation(contacts_count=3, items_count=2)
    tokens = first.grant_tokens(TEST_CLIENT.client_id)
    first.save(config.state_file)
    second = create_sandbox_app(config).state.sandbox
    assert second.load(config.state_file)
    assert len(second.organisation(org.tenant_id).contacts) == 3
    assert second.identity.grant_for(f"Bearer {tokens.access_token}").client_id == TEST_CLIENT.client_id


def test_cli_arguments_become_the_config() -> None:
    args = build_parser().parse_args(
        [
            "--port",
            "9000",
            "--time-scale",
            "60",
            "--auto-consent",
            "--client-id",
            "abc",
            "--redirect-uri",
            "http://localhost/cb",
        ]
    )
    config = config_from_args(args)
    assert isinstance(config, SandboxConfig)
    assert (config.time_scale, config.auto_consent, config.control_api_enabled) == (60.0, True, True)
    assert config.clients[0].client_id == "abc"
    assert config.clients[0].redirect_uris == ("http://localhost/cb",)
