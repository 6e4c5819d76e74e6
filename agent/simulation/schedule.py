"""When episodes happen: one Poisson stream per kind (plus the nightly job), drawn in simulated time.

Every kind has its own random stream seeded by (fleet seed, host index, kind), and the next start of a
kind is drawn when the previous episode of that kind is created. So the episodes of a host are the same
whether it is sampled every second, every minute or once an hour. Episodes of one kind do not overlap;
episodes of different kinds may (a leak during a nightly job).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from agent.simulation._rng import stream
from agent.simulation.config import PRECURSOR_KINDS, STATE_KINDS
from agent.simulation.episodes import BatchJob, Deploy, MemSpike, Spike
from agent.simulation.precursors import DiskFill, Leak, Runaway, Surge

if TYPE_CHECKING:
    import random

    from agent.simulation.config import SimulationConfig
    from agent.simulation.episodes import Episode, HostView

__all__ = ["Schedule"]

_DAY = 86400.0
# Surges need traffic to multiply and deploys happen in office hours: candidates outside are dropped.
_SURGE_MIN_TRAFFIC_CPU = 8.0
_DEPLOY_MIN_LOAD = 0.45


class _Stream:
    __slots__ = ("kind", "next_ts", "per_second", "rng")

    def __init__(self, kind: str, per_day: float, rng: random.Random, origin: float) -> None:
        self.kind = kind
        self.rng = rng
        self.per_second = per_day / _DAY
        self.next_ts = origin + rng.expovariate(self.per_second) if per_day > 0 else math.inf


class Schedule:
    """The episode streams of one host."""

    def __init__(
        self,
        seed: int,
        index: int,
        role: str,
        config: SimulationConfig,
        origin: float,
        nightly_hour: float | None,
        tz_offset: float,
    ) -> None:
        """Start the streams at ``origin`` (before the first sample, so history starts mid-stream).

        Args:
            seed: Fleet seed.
            index: Host index in the fleet.
            role: Host role (selects the rates).
            config: The episode mix.
            origin: Epoch seconds at which the streams begin.
            nightly_hour: Local hour of the nightly job, or ``None`` for none.
            tz_offset: Host's offset from UTC, seconds.
        """
        self._config = config
        self._streams = [
            _Stream(kind, config.rate(role, kind), stream(seed, index, f"episodes/{kind}"), origin)
            for kind in PRECURSOR_KINDS + STATE_KINDS
            if config.rate(role, kind) > 0
        ]
        self._nightly_rng = stream(seed, index, "episodes/nightly")
        self._nightly_hour = nightly_hour
        self._tz = tz_offset
        self._nightly_next = self._next_night(origin) if nightly_hour is not None else math.inf

    @property
    def next_ts(self) -> float:
        """Start of the next episode of any kind."""
        return min([self._nightly_next, *(s.next_ts for s in self._streams)])

    def _next_night(self, after: float) -> float:
        assert self._nightly_hour is not None
        local_day = math.floor((after + self._tz) / _DAY)
        at = local_day * _DAY + self._nightly_hour * 3600.0 - self._tz
        if at <= after:
            at += _DAY
        return at + self._nightly_rng.uniform(0.0, 2400.0)

    def due(self, ts: float, host: HostView) -> list[Episode]:
        """Create every episode that starts at or before ``ts`` (in start order per kind)."""
        created: list[Episode] = []
        for s in self._streams:
            while s.next_ts <= ts:
                start = s.next_ts
                episode = self._make(s.kind, start, s.rng, host)
                after = start
                if episode is not None:
                    created.append(episode)
                    after = episode.end
                s.next_ts = after + s.rng.expovariate(s.per_second)
        while self._nightly_next <= ts:
            job = BatchJob(self._nightly_next, self._nightly_rng, self._config)
            job.detail = "nightly"
            created.append(job)
            self._nightly_next = self._next_night(job.end)
        return created

    def _make(self, kind: str, start: float, rng: random.Random, host: HostView) -> Episode | None:
        config = self._config
        if kind == "leak":
            return Leak(start, rng, host, config.leak)
        if kind == "disk_fill":
            return DiskFill(start, rng, host, config.disk_fill)
        if kind == "runaway":
            return Runaway(start, rng, host, config.runaway)
        if kind == "surge":
            accept = host.expected_traffic_cpu(start) >= _SURGE_MIN_TRAFFIC_CPU
            episode = Surge(start, rng, host, config.surge)
            return episode if accept else None
        if kind == "cpu_spike":
            return Spike(start, rng, config)
        if kind == "mem_spike":
            return MemSpike(start, rng, config)
        if kind == "batch_job":
            return BatchJob(start, rng, config)
        if kind == "deploy":
            deploy = Deploy(start, rng)
            return deploy if host.expected_load(start) >= _DEPLOY_MIN_LOAD else None
        raise ValueError(f"unknown episode kind {kind!r}")
