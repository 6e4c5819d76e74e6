"""A simulated host's constants and its noise-free levels at any time (the hot path is in ``host``).

A sample is a noise-free level (traffic from the role's diurnal table in the host's time zone, day-to-day
amplitude, slow growth; memory warm-up after restarts; disk with nightly log rotation and slow growth),
plus AR(1) noise advanced exactly for any step (an Ornstein-Uhlenbeck process), plus the effects of the
active episodes. Metrics are coupled the way real ones are: load follows CPU demand (and exceeds the
cores when saturated), network and workers follow served traffic, swap follows memory pressure and its
growth shows as disk writes, IOPS follow throughput.
"""

from __future__ import annotations

import math
import random
from functools import cache, lru_cache

from agent.simulation._rng import stream, uniform
from agent.simulation.config import DEFAULT_CONFIG, SimulationConfig
from agent.simulation.episodes import Effects, Episode, EpisodeRecord
from agent.simulation.roles import MINUTES_PER_WEEK, PROFILES, ROLE_CYCLE, load_table
from agent.simulation.schedule import Schedule
from agent.wire import HostFacts

__all__ = ["HostBase", "coefficients"]

_GIB = 1 << 30
_DAY = 86400.0
_MONDAY_SHIFT = 3 * 1440  # 1970-01-01 was a Thursday; the tables start on Monday 00:00
_OS = (
    ("Debian GNU/Linux 12 (bookworm)", "6.1.0-28-amd64"),
    ("Ubuntu 22.04.5 LTS", "5.15.0-126-generic"),
    ("Ubuntu 24.04.1 LTS", "6.8.0-49-generic"),
    ("Rocky Linux 9.5 (Blue Onyx)", "5.14.0-503.14.1.el9_5.x86_64"),
)
_TZ_HOURS = (-8.0, -7.0, -6.0, -5.0, 0.0, 1.0, 2.0, 5.5, 8.0, 9.0)
_TZ_WEIGHTS = (3, 1, 2, 4, 2, 4, 1, 1, 1, 1)
# Time constants (seconds) of the AR(1) noises: cpu, mem, network, disk io, processes, traffic wander.
_NOISE_TAUS = (240.0, 1200.0, 150.0, 60.0, 600.0, 4 * 3600.0)
_LOAD_TAUS = (60.0, 300.0, 900.0)  # like the kernel's load averages
_SWAP_TAUS = (300.0, 2400.0)  # swap fills faster than it drains


@lru_cache(maxsize=256)
def coefficients(dt: float) -> tuple[float, ...]:
    """Per-step constants for a step of ``dt`` seconds: (phi, sqrt(1 - phi^2)) per noise, then alphas."""
    out: list[float] = []
    for tau in _NOISE_TAUS:
        phi = math.exp(-dt / tau)
        out += [phi, math.sqrt(max(0.0, 1.0 - phi * phi))]
    out += [1.0 - math.exp(-dt / tau) for tau in _LOAD_TAUS + _SWAP_TAUS]
    return tuple(out)


@cache
def _role_cycle(seed: int) -> tuple[str, ...]:
    return tuple(random.Random(f"cloudsense-sim/{seed}/roles").sample(ROLE_CYCLE, len(ROLE_CYCLE)))


class HostBase:
    """Constants of one host, drawn from its role's ranges; the state the hot path advances."""

    def __init__(
        self, index: int, seed: int, start_ts: float, config: SimulationConfig = DEFAULT_CONFIG
    ) -> None:
        """Draw the host's constants and start its episode schedule a day before ``start_ts``.

        Args:
            index: Position in the fleet (part of the host id).
            seed: Fleet seed.
            start_ts: Epoch seconds of the fleet's start (the first sample is expected around it).
            config: Episode mix.
        """
        self.index, self.seed, self.config = index, seed, config
        self.role = _role_cycle(seed)[index % len(ROLE_CYCLE)]
        self.host_id = f"sim-{self.role}-{index:04d}"
        p = PROFILES[self.role]
        rng = stream(seed, index, "profile")
        self.cores = rng.choice(p.cores)
        memory_gib = rng.choice(p.memory_gib)
        self.disk_bytes = float(rng.choice(p.disk_gib) * _GIB)
        os_release, kernel = rng.choice(_OS)
        self._tz = rng.choices(_TZ_HOURS, _TZ_WEIGHTS)[0] * 3600.0
        self._shift = _MONDAY_SHIFT + rng.randint(-40, 40)
        self._table = load_table(self.role)
        self._origin = float(start_ts)
        self._growth = rng.uniform(-0.03, 0.08) / (7 * _DAY)
        self.cpu_idle = uniform(rng, p.cpu_idle)
        self._cpu_traffic = uniform(rng, p.cpu_traffic)
        self._cpu_noise = p.cpu_noise * rng.uniform(0.8, 1.25)
        self._mem_cap = rng.uniform(88.0, 92.5) if rng.random() < p.high_mem_share else 0.0
        self._mem_base, self._mem_traffic = uniform(rng, p.mem_base), uniform(rng, p.mem_traffic)
        self._mem_noise = p.mem_noise
        self._mem_os = rng.uniform(6.0, 14.0)
        self._warm_drop = {"cache": 0.9, "db": 0.6}.get(self.role, 0.5)
        self._warm_tau = {"cache": 3600.0, "db": 1800.0}.get(self.role, 720.0) * rng.uniform(0.5, 1.5)
        self._warm_span = 6.0 * self._warm_tau
        self._gc_amp = uniform(rng, p.gc_sawtooth)
        self._gc_period = rng.uniform(240.0, 900.0)
        if rng.random() < p.high_disk_share:
            self._disk_log = rng.uniform(0.3, 1.0)
            self._disk_base = rng.uniform(84.0, 89.5) - self._disk_log
            self._disk_trend, self._disk_wrap = rng.uniform(0.0, 0.1) / _DAY, 1.5
        else:
            self._disk_log = uniform(rng, p.disk_daily_log)
            self._disk_base = uniform(rng, p.disk_base)
            self._disk_trend, self._disk_wrap = rng.uniform(0.0, 0.5) / _DAY, rng.uniform(5.0, 12.0)
        self._rotation = rng.uniform(2.0, 6.0) * 3600.0
        self._disk_churn = rng.uniform(0.03, 0.2)
        self._net_peak, self._net_ratio = uniform(rng, p.net_in_peak), uniform(rng, p.net_out_ratio)
        self._net_base = rng.uniform(5e3, 50e3)
        self._io_base, self._io_traffic = uniform(rng, p.io_base), uniform(rng, p.io_traffic)
        self._io_size = uniform(rng, p.io_size)
        self._io_wait = self.cores * 0.05 / 100e6 if self.role in {"db", "batch"} else 0.0
        self._procs_base, self._procs_traffic = uniform(rng, p.procs_base), uniform(rng, p.procs_traffic)
        swap_bytes = min(memory_gib * _GIB // 4, 8 * _GIB)
        self._swap_bytes = float(swap_bytes)
        self._swap_base, self._swap_gain = rng.uniform(0.0, 4.0), rng.uniform(2.5, 3.5)
        self._swap_wander = rng.uniform(0.05, 0.3)  # pages swapped in and out: the reading never sits still
        nightly = rng.uniform(0.5, 3.0) if p.nightly_job else None
        self.facts = HostFacts(
            hostname=self.host_id, os="Linux", os_release=os_release, kernel=kernel, arch="x86_64",
            cpu_cores=self.cores, memory_bytes=memory_gib * _GIB, swap_bytes=swap_bytes,
            boot_time=float(int(start_ts - rng.uniform(2.0, 120.0) * _DAY)), role=self.role, simulated=True,
        )  # fmt: skip
        self._schedule = Schedule(seed, index, self.role, config, start_ts - _DAY, nightly, self._tz)
        self.episode_log: list[EpisodeRecord] = []
        """Ground truth of every episode created so far (for tests and calibration only)."""
        self._active: list[Episode] = []
        self._restarts: list[float] = []
        self._last_restart = -math.inf
        self._next_check = -math.inf
        self._days: dict[int, float] = {}
        noise = stream(seed, index, "noise")
        self._bits = noise.getrandbits
        self._rand = noise.random
        self._nc, self._nm, self._nn, self._ni, self._np, self._nw = (noise.gauss(0.0, 1.0) for _ in range(6))
        self._fx = Effects()
        self._ts = -math.inf
        self._dt = -1.0
        self._k = coefficients(0.0)
        self._day = -(1 << 40)
        self._amp = 1.0
        self._swap = self._swap_base
        self._loads: list[float] | None = None
        self._gc_phase = 0.5
        # The deterministic levels of the current sample, read by the active episodes.
        self.cpu_det = self.traffic_cpu = self.mem_det = self.disk_det = 0.0

    # ------------------------------------------------------------------ noise-free levels at any time
    def _day_amp(self, day: int) -> float:
        amp = self._days.get(day)
        if amp is None:
            amp = self._days[day] = stream(self.seed, self.index, f"day/{day}").uniform(0.85, 1.15)
        return amp

    def expected_load(self, ts: float) -> float:
        """Relative traffic at ``ts`` without noise or episodes."""
        local = ts + self._tz
        level = self._table[(int(local // 60.0) + self._shift) % MINUTES_PER_WEEK]
        return level * self._day_amp(int(local // _DAY)) * (1.0 + self._growth * (ts - self._origin))

    def expected_traffic_cpu(self, ts: float) -> float:
        """Traffic-driven CPU percent at ``ts`` without noise or episodes."""
        return self._cpu_traffic * self.expected_load(ts)

    def expected_cpu(self, ts: float) -> float:
        """CPU percent at ``ts`` without noise or episodes."""
        return self.cpu_idle + self.expected_traffic_cpu(ts)

    def expected_mem(self, ts: float) -> float:
        """Memory percent at ``ts`` without noise, episodes or restarts."""
        return self._mem_cap or self._mem_base + self._mem_traffic * self.expected_load(ts)

    def expected_disk(self, ts: float) -> float:
        """Disk percent at ``ts`` without episodes."""
        since_rotation = (ts + self._tz - self._rotation) % _DAY
        trend = ((ts - self._origin) * self._disk_trend) % self._disk_wrap
        return self._disk_base + self._disk_log * since_rotation / _DAY + trend
