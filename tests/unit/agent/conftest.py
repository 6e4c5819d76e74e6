"""Agent test fixtures: a real HTTP server on loopback that answers from a script, and builders."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from agent import wire
from agent.enroll import Credential, CredentialStore
from agent.settings import AgentSettings
from agent.testserver import Reply as Reply  # re-exported for the test modules
from agent.testserver import Request as Request
from agent.testserver import ScriptedServer, ThreadedServer
from agent.testserver import default_handler as default_handler

TOKEN = "agent-secret-token"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "proc"


@pytest.fixture
async def server():
    srv = ScriptedServer()
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
def agent_settings(tmp_path: Path) -> AgentSettings:
    """Fast settings: tiny backoff, no replay limit, short timeouts."""
    return AgentSettings(
        state_dir=str(tmp_path / "state"),
        backoff_base_seconds=0.001,
        backoff_cap_seconds=0.01,
        auth_pause_seconds=0.05,
        request_timeout_seconds=2.0,
        replay_rate_samples_per_second=0,
        fsync_interval_seconds=0.01,
    )


async def wait_until(predicate: Callable[[], bool], *, limit: float = 15.0, step: float = 0.005) -> bool:
    """Poll ``predicate`` until true (``limit`` only guards against a hang; nothing asserts on time)."""
    for _ in range(int(limit / step)):
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


def store_credential(directory: Path, host_id: str, token: str = TOKEN) -> CredentialStore:
    store = CredentialStore(directory / "credential.json")
    store.save(Credential(host_id=host_id, token=token, token_id="tid"))
    return store


@pytest.fixture(autouse=True)
def _remove_cli_log_handler():
    """``cli.main`` installs a stderr handler on the root logger: take it away after each test."""
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "cloudsense-agent":
            root.removeHandler(handler)


@pytest.fixture
def threaded_server():
    with ThreadedServer() as srv:
        yield srv


class FakeHost:
    """Honours the agent.simulation host contract with constant metrics."""

    def __init__(self, i: int, seed: int) -> None:
        self.host_id = f"sim-test-{seed}-{i:04d}"
        self.role = "web"
        self.facts = wire.HostFacts(hostname=self.host_id, role="web", simulated=True, cpu_cores=2)
        self.last_ts = 0.0

    def sample_at(self, ts: float) -> dict[str, float]:
        assert ts >= self.last_ts
        self.last_ts = ts
        return {name: 10.0 for name in wire.METRIC_NAMES}


def fake_fleet(n_hosts: int, seed: int, start_ts: float) -> list[FakeHost]:
    return [FakeHost(i, seed) for i in range(n_hosts)]
