"""``cloudsense-agent run`` in-process: fake system source, real spool, real loopback server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
from agent_helpers import FIXTURES, store_credential, wait_until

from agent.runner import AgentRunner, ConfigurationError
from agent.settings import LogSettings, Settings
from agent.status import HostPaths, read_status
from agent.testing import FakeSystemSource, load_snapshots


class AdvancingSource(FakeSystemSource):
    """Replays the recorded snapshots of this machine, one per collection, then holds the last."""

    def host_info(self):
        self.advance()  # read once per tick (facts), after the collectors
        return super().host_info()


def make(agent_settings, server, source_type=None, **overrides) -> tuple[AgentRunner, HostPaths]:
    settings = Settings(
        agent=msgspec.structs.replace(
            agent_settings, server_url=server.url, interval_seconds=0.05, **overrides
        ),
        log=LogSettings(),
    )
    snapshots = load_snapshots(FIXTURES / "this_machine" / "snapshots.json")
    source = (source_type or AdvancingSource)(snapshots)
    return AgentRunner(settings, source=source), HostPaths(Path(settings.agent.state_dir))


async def run_until(runner: AgentRunner, predicate) -> int:
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await wait_until(lambda: predicate() or task.done())
    stop.set()
    return await asyncio.wait_for(task, 10)


async def test_run_collects_spools_ships_and_writes_status(server, agent_settings):
    runner, paths = make(agent_settings, server, host_id="web-7")
    store_credential(paths.root, "web-7")
    code = await run_until(runner, lambda: sum(len(r.payload["samples"]) for r in server.telemetry()) >= 3)
    assert code == 0
    batches = [r.payload for r in server.telemetry()]
    assert batches[0]["facts"]["cpu_cores"] >= 1
    samples = [s for b in batches for s in b["samples"]]
    assert [s["seq"] for s in samples] == list(range(len(samples)))
    assert "cpu_util" not in samples[0]  # first tick: no rate rather than a spike
    assert 0 <= samples[1]["cpu_util"] <= 100 and samples[1]["mounts"]
    status = read_status(paths.status)
    assert status is not None and not status.running
    assert status.host_id == "web-7" and status.shipper.samples_acked >= 3
    assert status.samples_produced >= status.shipper.samples_acked


async def test_run_enrolls_itself_with_a_token_file(server, agent_settings, tmp_path):
    token_file = tmp_path / "enroll-token"
    token_file.write_text("one-time\n")
    runner, paths = make(agent_settings, server, host_id="db-1", enroll_token_file=str(token_file))
    await run_until(runner, lambda: bool(server.telemetry()))
    (enroll,) = [r for r in server.requests if r.path == "/api/v1/enroll"]
    assert enroll.headers["authorization"] == "Bearer one-time"
    assert enroll.payload["host_id"] == "db-1" and enroll.payload["facts"]["memory_bytes"] > 0
    assert paths.credential.stat().st_mode & 0o777 == 0o600
    assert server.telemetry()[0].headers["authorization"] == "Bearer tok-db-1"


async def test_run_without_credential_keeps_collecting(server, agent_settings):
    runner, paths = make(agent_settings, server, host_id="web-8")

    def produced() -> int:
        status = read_status(paths.status)
        return status.samples_produced if status else 0

    await run_until(runner, lambda: produced() >= 3)
    assert not server.telemetry()
    status = read_status(paths.status)
    assert (
        status is not None
        and status.shipper.auth_failures >= 1
        and "not enrolled" in status.shipper.last_error
    )


async def test_run_refuses_a_missing_server_url(agent_settings):
    settings = Settings(agent=agent_settings)
    with pytest.raises(ConfigurationError, match="server_url"):
        await AgentRunner(
            settings, source=AdvancingSource(load_snapshots(FIXTURES / "reboot" / "snapshots.json"))
        ).run(asyncio.Event())


async def test_a_stuck_mount_is_in_the_status_file_and_collection_goes_on(server, agent_settings):
    """A mount that never answers: samples keep coming (without it), and the status file names it."""
    import threading

    from agent.source import Partition

    hang = threading.Event()  # never set: the call stays blocked, as on a dead NFS server

    class HungNfs(AdvancingSource):
        def partitions(self):
            return [*super().partitions(), Partition(device="nas:/x", mountpoint="/mnt/nas", fstype="nfs4")]

        def disk_usage(self, mountpoint):
            if mountpoint == "/mnt/nas":
                hang.wait()
            return super().disk_usage(mountpoint)

    runner, paths = make(agent_settings, server, HungNfs, host_id="web-9", disk_mount_timeout_seconds=0.1)
    store_credential(paths.root, "web-9")

    def stuck() -> bool:
        status = read_status(paths.status)
        return status is not None and status.samples_produced >= 3 and status.stuck_mounts == ["/mnt/nas"]

    try:
        assert await run_until(runner, stuck) == 0
    finally:
        hang.set()  # let the blocked thread end with the test
    assert stuck()  # the last status the agent wrote, on its way out, still names the mount
    samples = [s for r in server.telemetry() for s in r.payload["samples"]]
    assert samples and all("/mnt/nas" not in (s.get("mounts") or {}) for s in samples)
