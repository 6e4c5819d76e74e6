"""The simulated fleet through the real spool and shipper, against the loopback server."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import msgspec
import pytest
from agent_helpers import fake_fleet

from agent.simulate import SimulationError, run_simulation
from agent.spool import Spool, inspect_spool
from agent.testserver import Reply, default_handler


def per_host(server) -> dict[str, list[tuple[int, int]]]:
    """(epoch, seq) of every sample the server accepted, by host."""
    out: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for req in server.telemetry():
        batch = req.payload
        out[batch["host_id"]] += [(batch["epoch"], s["seq"]) for s in batch["samples"]]
    return out


async def simulate(agent_settings, server, state_dir, *, duration=0.4, token="enroll-me", **kw):
    return await run_simulation(
        agent_settings,
        hosts=kw.pop("hosts", 3),
        seed=kw.pop("seed", 1),
        server=server.url,
        state_dir=state_dir,
        stop=kw.pop("stop", asyncio.Event()),
        interval=0.05,
        duration=duration,
        enroll_token=token,
        grace=kw.pop("grace", 5.0),
        fleet_factory=fake_fleet,
        **kw,
    )


async def test_fleet_enrolls_produces_and_ships_every_sample(server, agent_settings, tmp_path):
    result = await simulate(agent_settings, server, tmp_path / "sim")
    assert result.produced > 0
    assert result.dropped == 0
    assert result.produced == result.acked + result.spooled
    assert result.spooled == 0  # drained within the grace
    enrolls = [r for r in server.requests if r.path == "/api/v1/enroll"]
    assert sorted(r.payload["host_id"] for r in enrolls) == [f"sim-test-1-{i:04d}" for i in range(3)]
    assert all(r.headers["authorization"] == "Bearer enroll-me" for r in enrolls)
    hosts = per_host(server)
    assert len(hosts) == 3
    assert len({pairs[0][0] for pairs in hosts.values()}) == 3  # one epoch per host
    for pairs in hosts.values():
        assert [seq for _, seq in pairs] == list(range(len(pairs)))
    for req in server.telemetry():  # each host ships with its own credential
        assert req.headers["authorization"] == f"Bearer tok-{req.payload['host_id']}"
    assert sum(len(p) for p in hosts.values()) == result.acked


async def test_restart_resumes_the_same_hosts_epochs_and_seqs(server, agent_settings, tmp_path):
    state = tmp_path / "sim"
    await simulate(agent_settings, server, state)
    first = per_host(server)
    server.requests.clear()
    again = await simulate(agent_settings, server, state, token=None)  # already enrolled
    assert not [r for r in server.requests if r.path == "/api/v1/enroll"]
    second = per_host(server)
    assert second.keys() == first.keys()
    for host_id in first:
        assert second[host_id][0][0] == first[host_id][0][0]  # same epoch
        assert second[host_id][0][1] == first[host_id][-1][1] + 1  # seq continues
    assert again.produced == again.acked


async def test_server_down_keeps_everything_spooled_then_replays(server, agent_settings, tmp_path):
    state = tmp_path / "sim"
    await simulate(agent_settings, server, state)  # enroll while up
    server.handler = lambda req: Reply(503)
    down = await simulate(agent_settings, server, state, token=None, grace=0.3)
    assert down.acked == 0
    assert down.spooled == down.produced > 0
    on_disk = sum(inspect_spool(d / "spool").unacked_samples for d in state.iterdir() if d.is_dir())
    assert on_disk == down.spooled
    server.handler = default_handler
    up = await simulate(agent_settings, server, state, token=None)
    assert up.spooled == 0
    assert up.acked == up.produced + down.spooled  # the backlog went too


async def test_stop_event_ends_the_run_early(server, agent_settings, tmp_path):
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.2, stop.set)
    result = await simulate(agent_settings, server, tmp_path / "sim", duration=None, stop=stop)
    assert result.produced > 0 and result.produced == result.acked + result.spooled


async def test_cap_drops_are_reported(server, agent_settings, tmp_path):
    settings = msgspec.structs.replace(
        agent_settings, spool_max_bytes=64 * 1024, spool_segment_bytes=16 * 1024
    )
    server.handler = lambda req: Reply(503) if req.path == "/api/v1/telemetry" else default_handler(req)
    result = await simulate(settings, server, tmp_path / "sim", duration=0.1, hosts=1, grace=0.3)
    assert result.dropped == 0
    state = tmp_path / "sim"
    host_dir = next(d for d in state.iterdir() if d.is_dir())
    spool = Spool.open(host_dir / "spool", max_bytes=64 * 1024, segment_bytes=16 * 1024)
    for i in range(3000):
        spool.append(1.7e9 + i, {"cpu_util": 1.0})
    spool.close()
    server.handler = default_handler
    result = await simulate(settings, server, state, duration=0.1, hosts=1, token=None)
    assert result.spooled == 0
    payloads = [r.payload for r in server.telemetry()]
    assert payloads[-1]["spool_dropped_total"] > 0  # the control plane hears about the drops


async def test_another_seed_in_the_same_state_dir_is_refused(server, agent_settings, tmp_path):
    await simulate(agent_settings, server, tmp_path / "sim", duration=0.05)
    with pytest.raises(SimulationError, match="seed 1"):
        await simulate(agent_settings, server, tmp_path / "sim", duration=0.05, seed=2)


async def test_unenrolled_hosts_without_a_token_are_refused(server, agent_settings, tmp_path):
    with pytest.raises(SimulationError, match="not enrolled"):
        await simulate(agent_settings, server, tmp_path / "sim", duration=0.05, token=None)


async def test_a_fleet_already_running_on_the_state_dir_is_refused(server, agent_settings, tmp_path):
    held = Spool.open(tmp_path / "sim" / "sim-test-1-0002" / "spool")  # another simulate owns host 2
    try:
        with pytest.raises(SimulationError, match="in use"):
            await simulate(agent_settings, server, tmp_path / "sim", duration=0.05)
    finally:
        held.close()
    result = await simulate(
        agent_settings, server, tmp_path / "sim", duration=0.05
    )  # nothing was left locked
    assert result.produced >= 0
