"""``cloudsense demo`` as a user runs it: real control plane, simulated fleet and real agent processes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_demo(tmp_path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cloudsense",
            "demo",
            "--data-dir",
            str(tmp_path),
            "--port",
            str(port),
            "--hosts",
            "4",
            "--interval",
            "2",
            "--duration",
            "15",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_demo_runs_the_loop_and_resumes(tmp_path) -> None:
    port = _free_port()
    first = _run_demo(tmp_path, port)
    assert first.returncode == 0, first.stderr[-3000:]
    # The table shows the simulated hosts and this machine's real agent, all up.
    assert "sim-" in first.stdout
    fleet_line = next(line for line in first.stdout.splitlines() if line.startswith("simulated fleet: "))
    counts = json.loads(fleet_line.removeprefix("simulated fleet: "))
    assert counts["produced"] > 0
    assert counts["produced"] == counts["acked"] + counts["spooled"]
    assert (tmp_path / "demo" / "agent" / "credential.json").is_file()
    assert "5 hosts" in first.stdout  # 4 simulated + this machine

    # A second run resumes the same fleet and database: no new hosts, admin token reused.
    token = (tmp_path / "demo" / "admin.token").read_text()
    second = _run_demo(tmp_path, port)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "5 hosts" in second.stdout
    assert (tmp_path / "demo" / "admin.token").read_text() == token
