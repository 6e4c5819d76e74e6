"""The real ``cloudsense-agent simulate`` process with the real simulation model."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.testserver import ScriptedServer, ThreadedServer

pytestmark = pytest.mark.e2e


def wait_for(predicate, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit  # a guard against hanging, not a timing assertion
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_simulate_process_sigterm_prints_the_line_and_a_restart_resumes(tmp_path: Path):
    state = tmp_path / "sim"

    def simulate(server: ScriptedServer, *extra: str) -> subprocess.Popen[str]:
        argv = [
            sys.executable,
            "-m",
            "agent",
            "simulate",
            "--hosts",
            "5",
            "--interval",
            "0.2",
            "--seed",
            "11",
        ]
        argv += ["--server", server.url, "--state-dir", str(state), "--grace", "10", *extra]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    with ThreadedServer() as server:
        proc = simulate(server, "--enroll-token", "E")
        wait_for(lambda: len(server.telemetry()) >= 10, "telemetry from the fleet")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0
        first = json.loads(out)
        assert first["produced"] > 0 and first["produced"] == first["acked"] + first["spooled"]
        before = {}
        for req in server.telemetry():
            b = req.payload
            before.setdefault(b["host_id"], []).extend((b["epoch"], s["seq"]) for s in b["samples"])
        assert len(before) == 5
        server.requests.clear()

        proc = simulate(server, "--duration", "1")  # no token: the hosts are enrolled already
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        second = json.loads(out)
        assert second["produced"] > 0 and second["spooled"] == 0
    assert not [r for r in server.requests if r.path == "/api/v1/enroll"]
    for req in server.telemetry():
        b = req.payload
        epoch, last_seq = before[b["host_id"]][-1]
        assert b["epoch"] == epoch  # same host, same spool, same epoch
        assert all(s["seq"] > last_seq for s in b["samples"])  # numbering continues
