"""Agent test fixtures: a real HTTP server on loopback that answers from a script, and builders."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agent.settings import AgentSettings
from agent.testserver import ScriptedServer, ThreadedServer


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
