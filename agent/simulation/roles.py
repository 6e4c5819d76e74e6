"""Host roles: what a normal day of a web, api, db, cache, batch or worker host looks like.

Each :class:`RoleProfile` gives the *ranges* from which a host draws its own constants (so two web hosts
differ), and a :class:`DiurnalShape` that becomes a minute-of-week load table in the host's local time.
Failure precursors and stressed states live in :mod:`agent.simulation.episodes`; their rates per role
in :mod:`agent.simulation.config`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Final

__all__ = ["MINUTES_PER_WEEK", "PROFILES", "ROLE_CYCLE", "DiurnalShape", "Range", "RoleProfile", "load_table"]

Range = tuple[float, float]
MINUTES_PER_WEEK: Final = 7 * 1440
_MB: Final = 1_000_000.0


@dataclass(frozen=True)
class DiurnalShape:
    """Business-hours load in local time, as a fraction of the day's peak (0..1)."""

    night: float
    """Load at night, relative to the peak."""
    rise_hour: float
    """Local hour at which the morning ramp is half-way."""
    fall_hour: float
    """Local hour at which the evening decline is half-way."""
    weekend: float
    """Saturday/Sunday daytime load relative to a weekday's (the night level is kept)."""
    lunch_dip: float = 0.08
    """Relative dip around 12:30."""
    evening: float = 0.0
    """Extra consumer-traffic bump around 20:30 (web)."""


@dataclass(frozen=True)
class RoleProfile:
    """Ranges a host of this role draws its constants from (uniformly unless said otherwise)."""

    name: str
    """Role name; part of the host id (``sim-<name>-0007``)."""
    cores: tuple[int, ...]
    """Logical CPU choices."""
    memory_gib: tuple[int, ...]
    """Physical memory choices."""
    disk_gib: tuple[int, ...]
    """Size of the fullest mount (turns %/h of growth into bytes/s of writes)."""
    cpu_idle: Range
    """CPU percent with no traffic (daemons, monitoring, housekeeping)."""
    cpu_traffic: Range
    """Extra CPU percent at the weekday peak of traffic."""
    cpu_noise: float
    """Standard deviation of the CPU's AR(1) noise, percent."""
    mem_base: Range
    """Memory percent in use at night."""
    mem_traffic: Range
    """Extra memory percent at the peak (caches, sessions, connection buffers)."""
    mem_noise: float
    """Standard deviation of the memory's AR(1) noise, percent."""
    gc_sawtooth: Range
    """Amplitude (percent) of a JVM-like heap sawtooth; (0, 0) for none."""
    high_mem_share: float
    """Share of hosts pinned near their memory cap (e.g. cache ``maxmemory``) at 88-93 %."""
    disk_base: Range
    """Disk percent used after the nightly log rotation."""
    disk_daily_log: Range
    """Disk percent that logs add over a day before the nightly rotation."""
    high_disk_share: float
    """Share of hosts whose disk sits at 85-91 % (big databases near capacity)."""
    net_in_peak: Range
    """Bytes/s received at the weekday peak."""
    net_out_ratio: Range
    """Bytes sent per byte received."""
    io_base: Range
    """Disk bytes/s with no traffic."""
    io_traffic: Range
    """Extra disk bytes/s at the peak."""
    io_size: Range
    """Average bytes per disk operation (IOPS = throughput / size)."""
    procs_base: Range
    """Processes with no traffic."""
    procs_traffic: Range
    """Extra processes (pre-forked workers) at the peak."""
    diurnal: DiurnalShape
    """Load over the day and the week."""
    nightly_job: bool = False
    """Whether a long CPU-heavy job starts every night (batch)."""


# fmt: off
PROFILES: Final[dict[str, RoleProfile]] = {
    "web": RoleProfile(
        name="web", cores=(4, 8), memory_gib=(8, 16), disk_gib=(50, 100),
        cpu_idle=(3, 7), cpu_traffic=(25, 50), cpu_noise=3.2,
        mem_base=(30, 45), mem_traffic=(6, 14), mem_noise=0.6, gc_sawtooth=(0, 0), high_mem_share=0.0,
        disk_base=(20, 55), disk_daily_log=(0.8, 3.0), high_disk_share=0.0,
        net_in_peak=(4 * _MB, 30 * _MB), net_out_ratio=(4, 12),
        io_base=(0.3 * _MB, 1 * _MB), io_traffic=(1 * _MB, 5 * _MB), io_size=(16_000, 64_000),
        procs_base=(140, 220), procs_traffic=(20, 80),
        diurnal=DiurnalShape(night=0.12, rise_hour=8.3, fall_hour=19.5, weekend=0.55, evening=0.25),
    ),
    "api": RoleProfile(
        name="api", cores=(4, 8, 16), memory_gib=(16, 32), disk_gib=(50, 100),
        cpu_idle=(4, 8), cpu_traffic=(35, 60), cpu_noise=3.6,
        mem_base=(35, 50), mem_traffic=(5, 12), mem_noise=0.5, gc_sawtooth=(2, 5), high_mem_share=0.0,
        disk_base=(20, 50), disk_daily_log=(0.5, 2.0), high_disk_share=0.0,
        net_in_peak=(3 * _MB, 20 * _MB), net_out_ratio=(1.2, 3),
        io_base=(0.3 * _MB, 1 * _MB), io_traffic=(1 * _MB, 6 * _MB), io_size=(16_000, 64_000),
        procs_base=(160, 240), procs_traffic=(10, 40),
        diurnal=DiurnalShape(night=0.15, rise_hour=8.5, fall_hour=18.5, weekend=0.45),
    ),
    "db": RoleProfile(
        name="db", cores=(16, 32), memory_gib=(64, 128, 256), disk_gib=(500, 1000, 2000),
        cpu_idle=(4, 8), cpu_traffic=(25, 45), cpu_noise=2.4,
        mem_base=(62, 76), mem_traffic=(3, 8), mem_noise=0.3, gc_sawtooth=(0, 0), high_mem_share=0.0,
        disk_base=(35, 75), disk_daily_log=(0.3, 1.2), high_disk_share=0.35,
        net_in_peak=(2 * _MB, 12 * _MB), net_out_ratio=(0.5, 2),
        io_base=(5 * _MB, 20 * _MB), io_traffic=(20 * _MB, 90 * _MB), io_size=(8_000, 16_000),
        procs_base=(120, 180), procs_traffic=(20, 60),
        diurnal=DiurnalShape(night=0.2, rise_hour=8.5, fall_hour=18.5, weekend=0.5),
    ),
    "cache": RoleProfile(
        name="cache", cores=(8, 16), memory_gib=(32, 64, 128), disk_gib=(50, 100),
        cpu_idle=(2, 5), cpu_traffic=(12, 30), cpu_noise=1.8,
        mem_base=(45, 70), mem_traffic=(4, 10), mem_noise=0.25, gc_sawtooth=(0, 0), high_mem_share=0.55,
        disk_base=(15, 40), disk_daily_log=(0.2, 0.8), high_disk_share=0.0,
        net_in_peak=(10 * _MB, 60 * _MB), net_out_ratio=(1.5, 4),
        io_base=(0.1 * _MB, 0.5 * _MB), io_traffic=(0.2 * _MB, 1 * _MB), io_size=(32_000, 128_000),
        procs_base=(110, 160), procs_traffic=(0, 5),
        diurnal=DiurnalShape(night=0.12, rise_hour=8.3, fall_hour=19.5, weekend=0.55, evening=0.2),
    ),
    "batch": RoleProfile(
        name="batch", cores=(16, 32, 64), memory_gib=(64, 128), disk_gib=(500, 1000),
        cpu_idle=(3, 8), cpu_traffic=(0, 4), cpu_noise=2.2,
        mem_base=(25, 40), mem_traffic=(0, 3), mem_noise=0.5, gc_sawtooth=(0, 0), high_mem_share=0.0,
        disk_base=(30, 65), disk_daily_log=(1.0, 4.0), high_disk_share=0.0,
        net_in_peak=(1 * _MB, 5 * _MB), net_out_ratio=(1, 2),
        io_base=(1 * _MB, 5 * _MB), io_traffic=(1 * _MB, 3 * _MB), io_size=(128_000, 512_000),
        procs_base=(170, 260), procs_traffic=(0, 10),
        diurnal=DiurnalShape(night=0.5, rise_hour=8.5, fall_hour=18.5, weekend=0.9),
        nightly_job=True,
    ),
    "worker": RoleProfile(
        name="worker", cores=(4, 8, 16), memory_gib=(16, 32), disk_gib=(50, 100),
        cpu_idle=(4, 8), cpu_traffic=(25, 50), cpu_noise=3.5,
        mem_base=(35, 50), mem_traffic=(5, 12), mem_noise=0.5, gc_sawtooth=(2, 5), high_mem_share=0.0,
        disk_base=(20, 55), disk_daily_log=(0.5, 2.0), high_disk_share=0.0,
        net_in_peak=(2 * _MB, 10 * _MB), net_out_ratio=(0.5, 1.5),
        io_base=(0.5 * _MB, 2 * _MB), io_traffic=(2 * _MB, 10 * _MB), io_size=(32_000, 128_000),
        procs_base=(150, 230), procs_traffic=(10, 40),
        diurnal=DiurnalShape(night=0.3, rise_hour=8.0, fall_hour=20.0, weekend=0.6),
    ),
}
# fmt: on

# A fixed cycle of 20 role slots (5 web, 4 api, 3 worker, 3 db, 2 cache, 3 batch), permuted per seed:
# host i takes slot i % 20, so any fleet prefix of 20 hosts has every role in its usual share.
ROLE_CYCLE: Final[tuple[str, ...]] = (
    ("web",) * 5 + ("api",) * 4 + ("worker",) * 3 + ("db",) * 3 + ("cache",) * 2 + ("batch",) * 3
)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _load_at(shape: DiurnalShape, minute_of_week: int) -> float:
    day, minute = divmod(minute_of_week, 1440)
    hour = minute / 60.0
    business = _sigmoid((hour - shape.rise_hour) / 0.9) * _sigmoid((shape.fall_hour - hour) / 1.3)
    business *= 1.0 - shape.lunch_dip * math.exp(-(((hour - 12.5) / 0.7) ** 2))
    business += shape.evening * math.exp(-(((hour - 20.5) / 1.5) ** 2))
    if day >= 5:  # Saturday, Sunday (minute 0 is Monday 00:00 local)
        business *= shape.weekend
    return min(1.0, shape.night + (1.0 - shape.night) * business)


@cache
def load_table(role: str) -> tuple[float, ...]:
    """Relative load (0..1) of ``role`` for every minute of a week, Monday 00:00 local first."""
    shape = PROFILES[role].diurnal
    return tuple(_load_at(shape, m) for m in range(MINUTES_PER_WEEK))
