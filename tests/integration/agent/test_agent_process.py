"""The real ``cloudsense-agent run`` process: SIGKILL loses nothing, SIGTERM stops cleanly.

The agent reads this machine through psutil and ships to a scripted HTTP server on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.enroll import Credential, CredentialStore
from agent.spool import inspect_spool
from agent.status import read_status
from agent.testserver import Reply, ScriptedServer, ThreadedServer, default_handler

pytestmark = pytest.mark.e2e
HOST = "proc-test-1"


def start_agent(url: str, state: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CLOUDSENSE_AGENT__SERVER_URL": url,
        "CLOUDSENSE_AGENT__STATE_DIR": str(state),
        "CLOUDSENSE_AGENT__HOST_ID": HOST,
        "CLOUDSENSE_AGENT__INTERVAL_SECONDS": "0.2",
        "CLOUDSENSE_AGENT__FSYNC_INTERVAL_SECONDS": "0.05",
        "CLOUDSENSE_AGENT__BACKOFF_BASE_SECONDS": "0.05",
        "CLOUDSENSE_AGENT__BACKOFF_CAP_SECONDS": "0.2",
    }
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "agent", "run"], env=env, stdout=subprocess.DEVNULL, stderr=err
        )


def wait_for(predicate, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit  # a guard against hanging, not a timing assertion
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def unacked(state: Path) -> int:
    stats = inspect_spool(state / "spool")
    return stats.unacked_samples if stats else 0


def accepted(server: ScriptedServer, ok: set[int]) -> list[tuple[int, int]]:
    """(epoch, seq) of the samples in requests the server answered 2xx."""
    out = []
    for i, req in enumerate(server.telemetry()):
        if i in ok:
            batch = req.payload
            out += [(batch["epoch"], s["seq"]) for s in batch["samples"]]
    return out


def test_sigkill_loses_nothing_and_sigterm_stops_cleanly(tmp_path: Path):
    state = tmp_path / "state"
    CredentialStore(state / "credential.json").save(Credential(host_id=HOST, token="t0ken"))
    log = tmp_path / "agent.log"
    ok: set[int] = set()
    with ThreadedServer() as server:
        server.handler = lambda req: Reply(503)  # control plane down: everything piles up in the spool
        agent = start_agent(server.url, state, log)
        try:
            wait_for(lambda: len(server.telemetry()) >= 3, "retries against the 503s")
            wait_for(lambda: unacked(state) >= 5, "a backlog")
            agent.send_signal(signal.SIGKILL)
            agent.wait(10)
        finally:
            if agent.poll() is None:
                agent.kill()
        backlog = inspect_spool(state / "spool")
        assert backlog is not None and backlog.unacked_samples >= 5

        def handler(req):
            ok.add(len(server.telemetry()) - 1)
            return default_handler(req)

        server.handler = handler
        agent = start_agent(server.url, state, log)
        try:
            wait_for(lambda: len(accepted(server, ok)) >= backlog.next_seq + 3, "the backlog and new samples")
            agent.send_signal(signal.SIGTERM)
            assert agent.wait(30) == 0
        finally:
            if agent.poll() is None:
                agent.kill()

    pairs = accepted(server, ok)
    assert {epoch for epoch, _ in pairs} == {backlog.epoch}  # one spool incarnation across the kill
    seqs = sorted({seq for _, seq in pairs})
    assert seqs == list(range(seqs[-1] + 1))  # no gap: the kill -9 lost nothing that was collected
    status = read_status(state / "status.json")
    assert status is not None and status.running is False and status.shipper.retries >= 3
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # stderr is not a TTY: JSON
    events = {line["event"] for line in lines}
    assert {"agent_started", "shipping_retry", "agent_stopped"} <= events
    assert all(line.get("host_id") == HOST for line in lines if line["event"] == "shipping_retry")
    assert "t0ken" not in log.read_text()  # never log secrets
