"""The systemd unit verifies cleanly and keeps a good security score (offline systemd-analyze)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[3] / "packaging" / "systemd" / "cloudsense-agent.service"
pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    # The agent is not installed here: point ExecStart at a binary that exists, change nothing else.
    text = re.sub(r"^ExecStart=\S+", "ExecStart=/bin/true", UNIT.read_text(), flags=re.MULTILINE)
    path = tmp_path / UNIT.name
    path.write_text(text)
    return path


def test_unit_verifies_without_warnings(unit: Path):
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == ""  # unknown keys only warn: any output is a defect


def test_unit_security_exposure_is_low(unit: Path):
    proc = subprocess.run(
        # --threshold is in tenths: fail above an exposure of 2.0
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", proc.stdout).group(1))
    assert score <= 2.0


def test_example_config_parses_and_matches_the_settings(tmp_path: Path):
    from agent.settings import load_settings

    example = UNIT.with_name("agent.toml.example")
    settings = load_settings(example, environ={"STATE_DIRECTORY": str(tmp_path)})
    assert settings.agent.server_url.startswith("https://")
    # every commented key names a real setting
    from agent.settings import AgentSettings, LogSettings

    keys = set(re.findall(r"^# ?([a-z_]+) = ", example.read_text(), flags=re.MULTILINE))
    assert keys <= set(AgentSettings.__struct_fields__) | set(LogSettings.__struct_fields__)
    assert len(keys) >= 20
