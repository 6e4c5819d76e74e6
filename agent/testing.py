"""A :class:`~agent.source.SystemSource` that replays recorded snapshots (for tests and fixtures).

Each ``tests/fixtures/proc/<case>/snapshots.json`` holds a JSON list of :class:`~agent.source.Snapshot`;
:class:`FakeSystemSource` serves one snapshot at a time and :meth:`FakeSystemSource.advance` moves to the
next, so a collector sees exactly what the real machine (or a hand-made edge case) showed.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from agent.source import (
    CpuTimes,
    DiskCounters,
    DiskUsage,
    HostInfo,
    Memory,
    NicCounters,
    Partition,
    Snapshot,
    Swap,
)

__all__ = ["FakeSystemSource", "load_snapshots"]


def load_snapshots(path: Path) -> list[Snapshot]:
    """Read a JSON list of snapshots."""
    return msgspec.json.decode(path.read_bytes(), type=list[Snapshot])


class FakeSystemSource:
    """Replays snapshots; the current one answers every call until :meth:`advance`."""

    def __init__(self, snapshots: list[Snapshot]) -> None:
        if not snapshots:
            raise ValueError("FakeSystemSource needs at least one snapshot")
        self._snapshots = snapshots
        self._index = 0

    @property
    def current(self) -> Snapshot:
        """The snapshot being served."""
        return self._snapshots[self._index]

    def advance(self) -> bool:
        """Move to the next snapshot; ``False`` when there is none."""
        if self._index + 1 >= len(self._snapshots):
            return False
        self._index += 1
        return True

    def wall_time(self) -> float:
        return self.current.wall_time

    def monotonic(self) -> float:
        return self.current.monotonic

    def boot_time(self) -> float:
        return self.current.boot_time

    def cpu_times(self) -> CpuTimes:
        return self.current.cpu_times

    def memory(self) -> Memory:
        return self.current.memory

    def swap(self) -> Swap:
        return self.current.swap

    def partitions(self) -> list[Partition]:
        return list(self.current.partitions)

    def disk_usage(self, mountpoint: str) -> DiskUsage:
        try:
            return self.current.disk_usage[mountpoint]
        except KeyError:
            raise OSError(f"no usage recorded for {mountpoint}") from None

    def disk_counters(self) -> dict[str, DiskCounters]:
        return dict(self.current.disk_counters)

    def nic_counters(self) -> dict[str, NicCounters]:
        return dict(self.current.nic_counters)

    def loopback_nics(self) -> set[str]:
        return set(self.current.loopback_nics)

    def process_count(self) -> int:
        return self.current.process_count

    def load_avg(self) -> tuple[float, float, float]:
        return self.current.load_avg

    def host_info(self) -> HostInfo:
        return self.current.host_info
