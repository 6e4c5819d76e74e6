"""Collectors against recorded and hand-made fixtures, against this machine, and the registry rules."""

from __future__ import annotations

import json
import math
import time
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from agent_helpers import FIXTURES

from agent import wire
from agent.collectors import Clock, CollectorRegistry, CounterDeltas, DuplicatePlugin, PluginNotFound
from agent.collectors.cpu import CpuCollector
from agent.collectors.load import LoadCollector
from agent.facts import clean_metrics, collect_facts
from agent.settings import AgentSettings
from agent.source import PsutilSource, SystemSource
from agent.testing import FakeSystemSource, load_snapshots

CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "snapshots.json").exists())
ALL = ["cpu", "memory", "disk", "diskio", "network", "processes", "load"]


def collect_all(collectors, source: SystemSource) -> dict:
    reading: dict = {}
    for c in collectors:
        reading.update(c.collect(source))
    return reading


def assert_matches(actual: dict, expected: dict, where: str) -> None:
    for key, want in expected.items():
        got = actual.get(key)
        if want is None:
            assert got is None, f"{where}: {key} should be absent, got {got}"
        elif isinstance(want, dict):
            assert got.keys() == want.keys(), where
            for mount, pct in want.items():
                assert got[mount] == pytest.approx(pct), f"{where}: mounts[{mount}]"
        else:
            assert got == pytest.approx(want), f"{where}: {key}"


def test_the_fixture_cases_are_there():
    assert {"this_machine", "counter_wrap", "reboot", "clock_step", "counter_reset"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_collectors_on_recorded_fixtures(case):
    snapshots = load_snapshots(FIXTURES / case / "snapshots.json")
    expected = json.loads((FIXTURES / case / "expected.json").read_text())
    assert len(expected) == len(snapshots)
    collectors = CollectorRegistry.from_entry_points().create([], AgentSettings())
    source = FakeSystemSource(snapshots)
    for i, want in enumerate(expected):
        if i:
            assert source.advance()
        reading = collect_all(collectors, source)
        assert_matches(reading, want, f"{case}[{i}]")
        # whatever the case, the result is a valid wire sample
        wire.Sample(seq=i, ts=snapshots[i].wall_time, **clean_metrics(reading))


def test_collectors_on_this_machine_are_in_sane_ranges():
    source = PsutilSource()
    collectors = CollectorRegistry.from_entry_points().create([], AgentSettings())
    collect_all(collectors, source)  # first tick: no rates yet
    time.sleep(0.3)  # let the CPU-time counters (10 ms resolution) move
    reading = collect_all(collectors, source)
    for key in ("cpu_util", "mem_util", "swap_util", "disk_util"):
        assert 0.0 <= reading[key] <= 100.0, key
    for key in ("disk_io", "disk_iops", "network_in", "network_out"):
        assert reading[key] is not None and reading[key] >= 0.0, key
    assert reading["active_processes"] >= 1
    assert all(reading[k] >= 0 for k in ("load1", "load5", "load15"))
    assert "/" in reading["mounts"]
    assert reading["disk_util"] == max(reading["mounts"].values())
    facts = collect_facts(source)
    assert facts.cpu_cores >= 1 and facts.memory_bytes > 0 and facts.boot_time > 0 and facts.os


def test_first_observation_and_reset_yield_no_rate():
    deltas = CounterDeltas()
    assert deltas.observe({"a": 5}, Clock(0, 1e9, 1e9 - 100)) is None
    assert deltas.observe({"a": 15}, Clock(10, 1e9 + 10, 1e9 - 100)) == ({"a": 10}, 10)
    assert deltas.observe({"a": 3}, Clock(20, 1e9 + 20, 1e9 - 100)) == ({}, 10)  # reset: no rate
    assert deltas.observe({"a": 3}, Clock(20, 1e9 + 20, 1e9 - 100)) is None  # no time elapsed


def test_32_bit_wrap_goes_the_short_way_round():
    deltas = CounterDeltas()
    deltas.observe({"a": 2**32 - 10}, Clock(0, 0, 0))
    assert deltas.observe({"a": 5}, Clock(1, 1, 0)) == ({"a": 15}, 1)
    cpu = CounterDeltas(allow_wrap=False)
    cpu.observe({"a": 2**32 - 10}, Clock(0, 0, 0))
    assert cpu.observe({"a": 5}, Clock(1, 1, 0)) == ({}, 1)


def test_cpu_util_is_none_when_a_cpu_counter_goes_backwards():
    snaps = load_snapshots(FIXTURES / "counter_wrap" / "snapshots.json")
    snaps[1].cpu_times.system = snaps[0].cpu_times.system - 1.0
    source = FakeSystemSource(snaps)
    cpu = CpuCollector(AgentSettings())
    cpu.collect(source)
    source.advance()
    assert cpu.collect(source) == {"cpu_util": None}


def test_clean_metrics_keeps_only_what_the_wire_accepts():
    out = clean_metrics(
        {
            "cpu_util": 100.0000001,
            "mem_util": math.nan,
            "disk_io": -1.0,
            "load1": None,
            "bogus": 1.0,
            "mounts": {"/": 50},
        }
    )
    assert out == {"cpu_util": 100.0, "mounts": {"/": 50.0}}


def test_registry_loads_every_builtin_collector():
    registry = CollectorRegistry.from_entry_points()
    assert registry.names() == sorted(ALL)
    assert registry.load_errors == {}
    for collector in registry.create([], AgentSettings()):
        assert collector.name in ALL


def test_registry_records_load_errors_and_duplicates():
    eps = [
        EntryPoint("cpu", "agent.collectors.cpu:CpuCollector", "cloudsense.collectors"),
        EntryPoint("broken", "agent.collectors.nope:Missing", "cloudsense.collectors"),
        EntryPoint("cpu", "agent.collectors.load:LoadCollector", "cloudsense.collectors"),
        EntryPoint("memory", "agent.collectors.load:LoadCollector", "cloudsense.collectors"),  # name mismatch
    ]
    registry = CollectorRegistry.from_entry_points(eps)
    # an ambiguous name loads neither claimant: the conflict is reported, not silently resolved
    assert registry.names() == []
    assert set(registry.load_errors) == {"broken", "cpu", "memory"}
    assert "duplicate" in registry.load_errors["cpu"]
    assert "ModuleNotFoundError" in registry.load_errors["broken"]
    registry.register("cpu", CpuCollector)
    with pytest.raises(DuplicatePlugin):
        registry.register("cpu", LoadCollector)


def test_unknown_collector_lists_the_available_ones():
    registry = CollectorRegistry.from_entry_points()
    with pytest.raises(PluginNotFound, match="available: cpu, disk, diskio"):
        registry.create(["gpu"], AgentSettings())


def test_fixture_snapshots_round_trip(tmp_path: Path):
    snaps = load_snapshots(FIXTURES / "this_machine" / "snapshots.json")
    assert len(snaps) >= 2 and snaps[0].host_info.cpu_cores >= 1


def test_a_mount_that_does_not_answer_is_left_out_until_it_does():
    """statvfs on a dead NFS server blocks in the kernel: the collector stops waiting after the timeout,
    skips the mount without waiting again while that call is blocked, and reads it again once it returns."""
    import threading

    from agent.collectors.disk import DiskCollector
    from agent.source import DiskUsage, Partition

    snapshot = load_snapshots(FIXTURES / "this_machine" / "snapshots.json")[0]
    snapshot.partitions = [
        Partition(device="/dev/vda1", mountpoint="/", fstype="ext4"),
        Partition(device="nas:/export", mountpoint="/mnt/nas", fstype="nfs4"),
    ]
    snapshot.disk_usage = {
        "/": DiskUsage(total=100, used=40, free=60),
        "/mnt/nas": DiskUsage(total=100, used=90, free=10),
    }
    release, calls = threading.Event(), []

    class HungNfs(FakeSystemSource):
        def disk_usage(self, mountpoint: str) -> DiskUsage:
            calls.append(mountpoint)
            if mountpoint == "/mnt/nas":
                release.wait()
            return super().disk_usage(mountpoint)

    collector = DiskCollector(AgentSettings(disk_mount_timeout_seconds=0.2))
    source = HungNfs([snapshot])
    assert collector.collect(source) == {"disk_util": 40.0, "mounts": {"/": 40.0}}
    assert collector.stuck_mounts == ["/mnt/nas"]
    started = time.monotonic()
    assert collector.collect(source) == {"disk_util": 40.0, "mounts": {"/": 40.0}}
    assert time.monotonic() - started < 0.2  # not waited for again: it is known to be stuck
    assert calls.count("/mnt/nas") == 1  # and no second thread blocked on it
    release.set()
    for _ in range(100):
        if not collector.stuck_mounts:
            break
        time.sleep(0.01)
    assert collector.collect(source) == {"disk_util": 90.0, "mounts": {"/": 40.0, "/mnt/nas": 90.0}}
