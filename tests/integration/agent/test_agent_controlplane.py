"""The agent's HTTP contract against the real control plane (Litestar under uvicorn, real Postgres).

Simulated hosts enroll with one multi-use enrollment token, ship through the real spool and shipper,
and every sample the agent counts as acknowledged is in Postgres exactly once.
"""

from __future__ import annotations

import asyncio

import pytest
from cp_helpers import live_server, settings_for
from sqlalchemy import func, select

from agent import wire
from agent.settings import AgentSettings
from agent.simulate import run_simulation
from controlplane.db.models import telemetry
from controlplane.provision import create_enrollment_token

pytestmark = pytest.mark.integration  # real Postgres


class ConstantHost:
    """A host of the simulation contract with fixed metrics (the model itself is tested elsewhere)."""

    def __init__(self, i: int) -> None:
        self.host_id = f"contract-{i:03d}"
        self.role = "web"
        self.facts = wire.HostFacts(hostname=self.host_id, role="web", simulated=True, cpu_cores=2)

    def sample_at(self, ts: float) -> dict[str, float]:
        return {name: 12.5 for name in wire.METRIC_NAMES}


async def test_simulated_agents_enroll_and_every_acked_sample_is_stored_once(pg_url, clean_pg, tmp_path):
    issued = await create_enrollment_token(clean_pg, uses=3)
    settings = AgentSettings(
        state_dir=str(tmp_path),
        fsync_interval_seconds=0.05,
        backoff_base_seconds=0.05,
        backoff_cap_seconds=0.5,
    )
    async with live_server(settings_for(pg_url)) as url:
        run = dict(
            hosts=3,
            seed=1,
            server=url,
            state_dir=tmp_path / "sim",
            interval=0.1,
            duration=1.0,
            grace=20.0,
            fleet_factory=lambda n, seed, start: [ConstantHost(i) for i in range(n)],
        )
        first = await run_simulation(settings, stop=asyncio.Event(), enroll_token=issued.token, **run)
        # a restart resends nothing twice and needs no enrollment (the token's 3 uses are spent)
        second = await run_simulation(settings, stop=asyncio.Event(), **run)
    assert first.produced > 0 and first.spooled == 0 and first.acked == first.produced
    assert second.spooled == 0 and second.acked == second.produced
    async with clean_pg.session_scope() as session:
        rows = await session.scalar(select(func.count()).select_from(telemetry))
        distinct = await session.scalar(
            select(func.count()).select_from(
                select(telemetry.c.host_id, telemetry.c.epoch, telemetry.c.seq).distinct().subquery()
            )
        )
        hosts = (await session.scalars(select(telemetry.c.host_id).distinct())).all()
    assert rows == distinct == first.acked + second.acked
    assert sorted(hosts) == ["contract-000", "contract-001", "contract-002"]
