"""The agent's example configuration parses and names real settings (its systemd unit:
tests/unit/test_systemd_units.py)."""

from __future__ import annotations

import re
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "packaging" / "systemd" / "agent.toml.example"


def test_example_config_parses_and_matches_the_settings(tmp_path: Path):
    from agent.settings import load_settings

    example = EXAMPLE
    settings = load_settings(example, environ={"STATE_DIRECTORY": str(tmp_path)})
    assert settings.agent.server_url.startswith("https://")
    # every commented key names a real setting
    from agent.settings import AgentSettings, LogSettings

    keys = set(re.findall(r"^# ?([a-z_]+) = ", example.read_text(), flags=re.MULTILINE))
    assert keys <= set(AgentSettings.__struct_fields__) | set(LogSettings.__struct_fields__)
    assert len(keys) >= 20
