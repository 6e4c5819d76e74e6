"""Every systemd unit shipped in packaging/systemd verifies cleanly and keeps a low security exposure
(systemd-analyze, offline: systemd need not be running)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "packaging" / "systemd"
UNITS = sorted(SYSTEMD.glob("*.service"))
pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


def test_the_units_are_there():
    assert {u.name for u in UNITS} == {"cloudsense-agent.service", "cloudsense-server.service"}


@pytest.fixture(params=UNITS, ids=lambda path: path.name)
def unit(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    # Not installed under /opt here: point ExecStart at a binary that exists, change nothing else.
    source: Path = request.param
    text = re.sub(r"^ExecStart=\S+", "ExecStart=/bin/true", source.read_text(), flags=re.MULTILINE)
    path = tmp_path / source.name
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
