"""Episodes: things that happen to a host for a while, scheduled in time (never per sample call).

An episode is created by the host's schedule when simulated time reaches its start; from then until its
``end`` the host calls :meth:`Episode.apply` on every sample, and the episode adds its effects to an
:class:`Effects` accumulator. Every parameter is drawn when the episode is created, from the schedule's
own random stream, so where and how an episode runs does not depend on how often the host is sampled.

This module holds the shared machinery and the episodes that never end in exhaustion (spikes shorter than
the minimum duration, CPU-heavy jobs held below the threshold, restarts). The failure precursors are in
:mod:`agent.simulation.precursors`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple, Protocol

from agent.simulation._rng import uniform

if TYPE_CHECKING:
    import random

    from agent.simulation.config import SimulationConfig

__all__ = [
    "BatchJob",
    "Deploy",
    "Effects",
    "Episode",
    "EpisodeRecord",
    "HostView",
    "MemSpike",
    "Spike",
    "shape_knots",
]


class HostView(Protocol):
    """What an episode may read of its host: constants, and the deterministic levels of this sample."""

    cores: int
    """Logical CPUs."""
    disk_bytes: float
    """Size of the fullest mount."""
    cpu_idle: float
    """CPU percent with no traffic."""
    cpu_det: float
    """CPU demand of this sample without noise and episodes."""
    traffic_cpu: float
    """Traffic-driven part of ``cpu_det``."""
    mem_det: float
    """Memory percent of this sample without noise and episodes."""
    disk_det: float
    """Disk percent of this sample without episodes."""

    def expected_cpu(self, ts: float) -> float:
        """Noise-free CPU demand at ``ts``."""

    def expected_traffic_cpu(self, ts: float) -> float:
        """Noise-free traffic-driven CPU at ``ts``."""

    def expected_load(self, ts: float) -> float:
        """Noise-free relative traffic (0..~1.2) at ``ts``."""

    def expected_mem(self, ts: float) -> float:
        """Noise-free memory percent at ``ts``."""

    def expected_disk(self, ts: float) -> float:
        """Disk percent at ``ts`` without episodes."""


class EpisodeRecord(NamedTuple):
    """Ground truth about one episode, for tests and calibration (never written to the lake)."""

    kind: str
    """One of ``PRECURSOR_KINDS`` or ``STATE_KINDS`` (``leak``, ``disk_fill``, ..., ``deploy``)."""
    start: float
    """When the episode (the precursor) begins, epoch seconds."""
    end: float
    """When it is over (restart, cleanup, kill, recession)."""
    onset: float | None
    """Planned start of the exhaustion, or ``None`` when the episode does not exhaust anything."""
    resource: str | None
    """The utilisation metric it drives (``cpu_util``, ``mem_util``, ``disk_util``), if any."""
    detail: str
    """Shape and speed, e.g. ``stepwise`` or ``sudden``; ``aborted`` when a precursor stops short."""


class Effects:
    """Per-sample accumulator of what the active episodes do to the host."""

    __slots__ = (
        "cpu", "cpu_floor", "cpu_soft", "disk", "disk_floor", "gc", "io", "job_level", "load", "mem",
        "mem_floor", "procs", "stress", "stuck", "stuck_level", "swap", "traffic",
    )  # fmt: skip

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to "no effect"."""
        self.traffic = 1.0  # multiplies traffic (CPU, network, workers)
        self.cpu = 0.0  # added CPU demand, percent (may exceed 100 in total: saturation)
        self.job_level = 0.0  # CPU percent a running job pulls the host to (the highest job wins)
        self.cpu_soft = 0.0  # demand that competes with a running job: soft-capped with it (GC, deploys)
        self.stuck = 0.0  # CPU of stuck processes, added on top...
        self.stuck_level = 0.0  # ...or, while a job holds the CPU, the level they drive it to
        self.mem = 0.0
        self.disk = 0.0
        self.io = 0.0  # bytes/s
        self.procs = 0.0
        self.swap = 0.0  # added swap target, percent
        self.load = 0.0  # added run queue (D-state, stuck processes)
        self.cpu_floor = 0.0  # held at or above this (exhaustion or spike)
        self.mem_floor = 0.0
        self.disk_floor = 0.0
        self.gc = 0.0  # how full a leaking heap is (0..1): more frequent GC cycles
        self.stress = False  # a job holds the CPU just under the threshold (soft cap)


class Episode:
    """Base class: an interval ``[start, end)`` of a host's life with an effect on its metrics."""

    __slots__ = ("detail", "end", "onset", "restart_at", "start")
    kind = "episode"
    resource: str | None = None

    def __init__(self, start: float, end: float, *, onset: float | None = None, detail: str = "") -> None:
        self.start = start
        self.end = end
        self.onset = onset
        self.detail = detail
        self.restart_at: float | None = None
        """When the host's main service restarts (memory drops, then warms up), if it does."""

    def apply(self, ts: float, host: HostView, fx: Effects) -> None:
        """Add this episode's effect at ``ts`` (``start <= ts < end``) to ``fx``."""
        raise NotImplementedError

    def record(self) -> EpisodeRecord:
        """The ground-truth record of this episode."""
        return EpisodeRecord(self.kind, self.start, self.end, self.onset, self.resource, self.detail)


def shape_knots(rng: random.Random, shape: str) -> tuple[list[float], list[float]]:
    """Knots of a progress curve ``g(u)`` from (0, 0) to (1, 1), non-decreasing.

    ``linear``; ``stepwise`` (4-10 quick steps with plateaus between); ``accelerating`` (convex, u^1.2-1.8);
    ``concave`` (fast then levelling off); ``bursty`` (many small bursts over a slow trickle).
    """
    if shape == "stepwise":
        steps = rng.randint(4, 10)
        ramp = rng.uniform(0.02, 0.06) / steps * 4
        xs, ys = [0.0], [0.0]
        for i in range(steps):
            at = max(i / steps + rng.uniform(0.0, 1.0 / steps - ramp), xs[-1] + 1e-6)
            xs += [at, at + ramp]
            ys += [i / steps, (i + 1) / steps]
        xs.append(max(1.0, xs[-1] + 1e-6))
        ys.append(1.0)
        return xs, ys
    if shape in {"accelerating", "concave"}:
        power = rng.uniform(1.2, 1.8)
        xs = [i / 16 for i in range(17)]
        if shape == "accelerating":
            return xs, [x**power for x in xs]
        return xs, [1.0 - (1.0 - x) ** power for x in xs]
    if shape == "bursty":
        bursts = rng.randint(30, 80)
        sizes = [rng.uniform(0.5, 1.5) for _ in range(bursts)]
        total = sum(sizes)
        xs, ys, level = [0.0], [0.0], 0.0
        for i, size in enumerate(sizes):
            at = (i + rng.uniform(0.1, 0.6)) / bursts
            width = rng.uniform(0.05, 0.3) / bursts
            xs += [at, at + width]
            ys += [level + 0.2 * size / total, level + size / total]
            level += size / total
        xs.append(1.0)
        ys.append(1.0)
        return xs, ys
    return [0.0, 1.0], [0.0, 1.0]


class Spike(Episode):
    """A spike to 97-100 % shorter than the minimum duration: GC pause, deploy, cron job, big sort."""

    __slots__ = ("level",)
    kind = "cpu_spike"
    resource = "cpu_util"

    def __init__(self, start: float, rng: random.Random, config: SimulationConfig) -> None:
        super().__init__(start, start + uniform(rng, config.spike_seconds))
        self.level = rng.uniform(97.0, 99.5)

    def apply(self, ts: float, host: HostView, fx: Effects) -> None:
        """Hold the CPU at the spike's level."""
        fx.cpu_floor = max(fx.cpu_floor, self.level)


class MemSpike(Spike):
    """A brief memory spike (a big sort or query, a GC high-water mark), shorter than the minimum."""

    __slots__ = ()
    kind = "mem_spike"
    resource = "mem_util"

    def apply(self, ts: float, host: HostView, fx: Effects) -> None:
        """Hold memory at the spike's level (a little lower than a CPU spike's)."""
        fx.mem_floor = max(fx.mem_floor, self.level - 1.0)


class BatchJob(Episode):
    """Hours of CPU-heavy work held at 85-93 % (soft-capped under the threshold): not exhaustion."""

    __slots__ = ("io_bytes", "level", "mem_add", "procs_add", "ramp")
    kind = "batch_job"
    resource = "cpu_util"

    def __init__(self, start: float, rng: random.Random, config: SimulationConfig) -> None:
        super().__init__(start, start + uniform(rng, config.batch_job_hours) * 3600.0, detail="stressed")
        self.level = uniform(rng, config.batch_job_level)
        self.ramp = rng.uniform(60.0, 240.0)
        self.io_bytes = rng.uniform(20e6, 200e6)
        self.mem_add = rng.uniform(6.0, 22.0)
        self.procs_add = float(rng.randint(8, 40))

    def apply(self, ts: float, host: HostView, fx: Effects) -> None:
        """Pull CPU to the job's level, with its disk traffic, working set and worker processes."""
        r = min(1.0, (ts - self.start) / self.ramp, (self.end - ts) / self.ramp)
        fx.job_level = max(fx.job_level, host.cpu_det + (self.level - host.cpu_det) * r)
        fx.stress = True
        fx.io += self.io_bytes * r
        fx.mem += min(self.mem_add, max(0.0, 88.0 - host.mem_det)) * r  # a job fits in what is free
        fx.procs += self.procs_add * r


class Deploy(Episode):
    """A rolling restart: a CPU burst, workers recycled, memory dropping and warming up again."""

    __slots__ = ("cpu_add", "procs_dip")
    kind = "deploy"

    def __init__(self, start: float, rng: random.Random) -> None:
        super().__init__(start, start + rng.uniform(180.0, 480.0), detail="restart")
        self.cpu_add = rng.uniform(10.0, 30.0)
        self.procs_dip = rng.uniform(10.0, 40.0)
        self.restart_at = start + rng.uniform(20.0, 60.0)

    def apply(self, ts: float, host: HostView, fx: Effects) -> None:
        """A bell-shaped CPU burst; processes dip while workers are replaced."""
        bump = math.sin(math.pi * (ts - self.start) / (self.end - self.start))
        # A restart burst takes what headroom there is, not more: deploys are not exhaustion episodes.
        fx.cpu_soft += min(self.cpu_add, max(0.0, 86.0 - host.cpu_det)) * bump
        fx.procs -= self.procs_dip * bump
