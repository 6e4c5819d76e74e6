"""Where collectors read the system from: the :class:`SystemSource` protocol and its psutil implementation.

Collectors never call psutil: they read a source, so tests feed them recorded snapshots
(``agent.testing.FakeSystemSource``) exactly as Telegraf's ``PS`` interface and prometheus
client_python's ``ProcessCollector(proc=...)`` do. Every value here is a plain struct, so a whole
:class:`Snapshot` round-trips through JSON.

Counters are the kernel's raw values (psutil's ``nowrap`` is off): the collectors' delta logic
handles wraps and resets itself, the same way for real and recorded data.
"""

from __future__ import annotations

import platform
import socket
import time
from typing import Protocol, runtime_checkable

import msgspec

__all__ = [
    "CpuTimes",
    "DiskCounters",
    "DiskUsage",
    "HostInfo",
    "Memory",
    "NicCounters",
    "Partition",
    "PsutilSource",
    "Snapshot",
    "Swap",
    "SystemSource",
    "record_snapshot",
]


class CpuTimes(msgspec.Struct, kw_only=True):
    """Cumulative CPU seconds, all cores (Linux fields; other systems leave some at 0)."""

    user: float = 0.0
    """Time in user mode (includes guest time on Linux)."""
    nice: float = 0.0
    """Time in user mode at low priority (includes guest_nice on Linux)."""
    system: float = 0.0
    """Time in kernel mode."""
    idle: float = 0.0
    """Idle time."""
    iowait: float = 0.0
    """Idle while waiting for I/O."""
    irq: float = 0.0
    """Servicing hardware interrupts."""
    softirq: float = 0.0
    """Servicing software interrupts."""
    steal: float = 0.0
    """Stolen by the hypervisor."""
    guest: float = 0.0
    """Running guests (already counted in ``user``)."""
    guest_nice: float = 0.0
    """Running niced guests (already counted in ``nice``)."""


class Memory(msgspec.Struct, kw_only=True):
    """Physical memory, bytes."""

    total: int
    """Installed memory."""
    available: int
    """Memory available to new processes without swapping."""


class Swap(msgspec.Struct, kw_only=True):
    """Swap space, bytes."""

    total: int
    """Swap configured."""
    used: int
    """Swap in use."""


class Partition(msgspec.Struct, kw_only=True):
    """One mounted file system."""

    device: str
    """Source device (``/dev/vda1``, ``tmpfs``...)."""
    mountpoint: str
    """Where it is mounted."""
    fstype: str
    """File-system type."""


class DiskUsage(msgspec.Struct, kw_only=True):
    """Space of one mount, bytes (``statvfs``)."""

    total: int
    """Size of the file system."""
    used: int
    """Used space."""
    free: int
    """Space available to unprivileged users (reserved blocks excluded, as ``df`` shows)."""


class DiskCounters(msgspec.Struct, kw_only=True):
    """Cumulative I/O counters of one block device."""

    read_bytes: int
    """Bytes read."""
    write_bytes: int
    """Bytes written."""
    read_count: int
    """Read operations."""
    write_count: int
    """Write operations."""


class NicCounters(msgspec.Struct, kw_only=True):
    """Cumulative counters of one network interface."""

    bytes_recv: int
    """Bytes received."""
    bytes_sent: int
    """Bytes sent."""


class HostInfo(msgspec.Struct, kw_only=True):
    """Static facts about the machine."""

    hostname: str = ""
    """The host's own name."""
    os: str = ""
    """Operating-system family."""
    os_release: str = ""
    """Distribution and release."""
    kernel: str = ""
    """Kernel release."""
    arch: str = ""
    """Machine architecture."""
    cpu_cores: int = 0
    """Logical CPUs."""


@runtime_checkable
class SystemSource(Protocol):
    """Everything the collectors read. Each call returns the value at the time of the call."""

    def wall_time(self) -> float:
        """Unix time (may step: NTP, operator)."""
        ...

    def monotonic(self) -> float:
        """Monotonic seconds: the base of every rate."""
        ...

    def boot_time(self) -> float:
        """Unix time of the last boot."""
        ...

    def cpu_times(self) -> CpuTimes:
        """Cumulative CPU times, all cores."""
        ...

    def memory(self) -> Memory:
        """Physical memory."""
        ...

    def swap(self) -> Swap:
        """Swap space."""
        ...

    def partitions(self) -> list[Partition]:
        """Every mounted file system (pseudo ones included; the disk collector filters)."""
        ...

    def disk_usage(self, mountpoint: str) -> DiskUsage:
        """Space of one mount. Raises ``OSError`` when it cannot be read."""
        ...

    def disk_counters(self) -> dict[str, DiskCounters]:
        """I/O counters per block device."""
        ...

    def nic_counters(self) -> dict[str, NicCounters]:
        """Counters per network interface."""
        ...

    def loopback_nics(self) -> set[str]:
        """Names of the loopback interfaces."""
        ...

    def process_count(self) -> int:
        """Number of processes."""
        ...

    def load_avg(self) -> tuple[float, float, float]:
        """1, 5 and 15-minute load averages."""
        ...

    def host_info(self) -> HostInfo:
        """Static facts about the machine."""
        ...


class PsutilSource:
    """The real system, through psutil (imported on first use so tests of fakes never load it)."""

    def __init__(self) -> None:
        import psutil

        self._ps = psutil

    def wall_time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def boot_time(self) -> float:
        return float(self._ps.boot_time())

    def cpu_times(self) -> CpuTimes:
        t = self._ps.cpu_times()
        fields = {name: float(getattr(t, name)) for name in CpuTimes.__struct_fields__ if hasattr(t, name)}
        return CpuTimes(**fields)

    def memory(self) -> Memory:
        vm = self._ps.virtual_memory()
        return Memory(total=int(vm.total), available=int(vm.available))

    def swap(self) -> Swap:
        sw = self._ps.swap_memory()
        return Swap(total=int(sw.total), used=int(sw.used))

    def partitions(self) -> list[Partition]:
        return [
            Partition(device=p.device, mountpoint=p.mountpoint, fstype=p.fstype)
            for p in self._ps.disk_partitions(all=True)
        ]

    def disk_usage(self, mountpoint: str) -> DiskUsage:
        u = self._ps.disk_usage(mountpoint)
        return DiskUsage(total=int(u.total), used=int(u.used), free=int(u.free))

    def disk_counters(self) -> dict[str, DiskCounters]:
        raw = self._ps.disk_io_counters(perdisk=True, nowrap=False) or {}
        return {
            name: DiskCounters(
                read_bytes=c.read_bytes,
                write_bytes=c.write_bytes,
                read_count=c.read_count,
                write_count=c.write_count,
            )
            for name, c in raw.items()
        }

    def nic_counters(self) -> dict[str, NicCounters]:
        raw = self._ps.net_io_counters(pernic=True, nowrap=False) or {}
        return {
            name: NicCounters(bytes_recv=c.bytes_recv, bytes_sent=c.bytes_sent) for name, c in raw.items()
        }

    def loopback_nics(self) -> set[str]:
        names = {"lo"}
        for name, stats in self._ps.net_if_stats().items():
            if "loopback" in getattr(stats, "flags", "").split(","):
                names.add(name)
        return names

    def process_count(self) -> int:
        return len(self._ps.pids())

    def load_avg(self) -> tuple[float, float, float]:
        one, five, fifteen = self._ps.getloadavg()
        return (float(one), float(five), float(fifteen))

    def host_info(self) -> HostInfo:
        try:
            release = platform.freedesktop_os_release().get("PRETTY_NAME", "")
        except OSError:
            release = platform.platform(terse=True)
        return HostInfo(
            hostname=socket.gethostname(),
            os=platform.system(),
            os_release=release,
            kernel=platform.release(),
            arch=platform.machine(),
            cpu_cores=int(self._ps.cpu_count(logical=True) or 0),
        )


class Snapshot(msgspec.Struct, kw_only=True):
    """Everything a :class:`SystemSource` says at one instant: the unit of the recorded fixtures."""

    wall_time: float
    """Unix time."""
    monotonic: float
    """Monotonic seconds."""
    boot_time: float
    """Last boot, Unix time."""
    cpu_times: CpuTimes
    """Cumulative CPU times."""
    memory: Memory
    """Physical memory."""
    swap: Swap
    """Swap space."""
    partitions: list[Partition]
    """Mounted file systems."""
    disk_usage: dict[str, DiskUsage]
    """Space per mountpoint (mounts that could not be read are absent)."""
    disk_counters: dict[str, DiskCounters]
    """I/O counters per block device."""
    nic_counters: dict[str, NicCounters]
    """Counters per interface."""
    loopback_nics: list[str]
    """Loopback interface names."""
    process_count: int
    """Number of processes."""
    load_avg: tuple[float, float, float]
    """Load averages."""
    host_info: HostInfo
    """Static facts."""


def record_snapshot(source: SystemSource) -> Snapshot:
    """Read every value of ``source`` once (used to record fixtures from a real machine)."""
    partitions = source.partitions()
    usage: dict[str, DiskUsage] = {}
    for part in partitions:
        try:
            usage[part.mountpoint] = source.disk_usage(part.mountpoint)
        except OSError:
            continue
    return Snapshot(
        wall_time=source.wall_time(),
        monotonic=source.monotonic(),
        boot_time=source.boot_time(),
        cpu_times=source.cpu_times(),
        memory=source.memory(),
        swap=source.swap(),
        partitions=partitions,
        disk_usage=usage,
        disk_counters=source.disk_counters(),
        nic_counters=source.nic_counters(),
        loopback_nics=sorted(source.loopback_nics()),
        process_count=source.process_count(),
        load_avg=source.load_avg(),
        host_info=source.host_info(),
    )
