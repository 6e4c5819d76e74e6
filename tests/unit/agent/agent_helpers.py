"""Helpers shared by the agent's unit tests (a uniquely named module: ``conftest`` is ambiguous
when the whole suite runs, since every test tree has one)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from agent import wire
from agent.enroll import Credential, CredentialStore

TOKEN = "agent-secret-token"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "proc"


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
