"""The one simulation model of a host fleet, in pure Python (no numpy: the agent extra stays tiny).

``cloudsense-agent simulate`` drives it in real time through the real spool and shipper;
``cloudsense generate`` drives it over days of simulated time to write a history lake.

Contract (both drivers rely on it):

* ``make_fleet(n_hosts, seed, start_ts) -> list[SimulatedHost]``: deterministic for a seed; host ``i`` is
  the same whatever ``n_hosts`` is (a fleet of 5 is the first 5 hosts of a fleet of 500).
* ``SimulatedHost.host_id`` (e.g. ``sim-web-0007``), ``.role``, ``.facts`` (``agent.wire.HostFacts`` with
  ``simulated=True`` and the role).
* ``SimulatedHost.sample_at(ts) -> dict[str, float]``: advance the host's state to ``ts`` (calls come
  with non-decreasing ``ts``, any step) and return every metric of ``agent.wire.METRIC_NAMES``, within the
  wire's bounds (``mounts`` is not included: simulated hosts have one mount, ``/``).

The model: roles (web, api, db, cache, batch, worker) with their own baselines and metric mixes;
business-hours load in the host's time zone, quieter weekends, day-to-day variation and slow growth;
AR(1) noise; coupled metrics (load follows CPU, network and workers follow traffic, swap follows memory,
disk writes follow disk growth). Episodes happen in simulated time (never per call): stressed states that
are not exhaustion (jobs at 85-93 % CPU for hours, caches pinned at 88-93 % memory, spikes to 97-100 %
shorter than the minimum duration, restarts) and failure precursors (memory leak, filling disk, traffic
surge, runaway processes) with varied speed and shape, most ending in exhaustion, some stopped short.
The mix is :class:`SimulationConfig`; ground truth (never in the telemetry) is ``host.episode_log`` and
``host.planned(until)``.
"""

from __future__ import annotations

from agent.simulation.config import (
    DEFAULT_CONFIG,
    PRECURSOR_KINDS,
    STATE_KINDS,
    PrecursorSettings,
    SimulationConfig,
)
from agent.simulation.episodes import EpisodeRecord
from agent.simulation.host import SimulatedHost
from agent.simulation.roles import PROFILES, RoleProfile

__all__ = [
    "DEFAULT_CONFIG",
    "PRECURSOR_KINDS",
    "PROFILES",
    "ROLES",
    "STATE_KINDS",
    "EpisodeRecord",
    "PrecursorSettings",
    "RoleProfile",
    "SimulatedHost",
    "SimulationConfig",
    "make_fleet",
    "make_host",
]

ROLES: tuple[str, ...] = tuple(PROFILES)
"""The simulated roles."""


def make_host(
    index: int, seed: int, start_ts: float, config: SimulationConfig | None = None
) -> SimulatedHost:
    """Host ``index`` of the fleet of ``seed`` (the same host :func:`make_fleet` returns at that index).

    Args:
        index: Position in the fleet, >= 0.
        seed: Fleet seed.
        start_ts: Epoch seconds around which sampling starts (episodes are scheduled from a day before).
        config: Episode mix; the calibrated default when ``None``.
    """
    if index < 0:
        raise ValueError("index must be >= 0")
    return SimulatedHost(index, seed, start_ts, config or DEFAULT_CONFIG)


def make_fleet(
    n_hosts: int, seed: int, start_ts: float, config: SimulationConfig | None = None
) -> list[SimulatedHost]:
    """The first ``n_hosts`` hosts of the fleet of ``seed``.

    Args:
        n_hosts: Fleet size, >= 0.
        seed: Fleet seed.
        start_ts: Epoch seconds around which sampling starts.
        config: Episode mix; the calibrated default when ``None``.
    """
    if n_hosts < 0:
        raise ValueError("n_hosts must be >= 0")
    return [make_host(i, seed, start_ts, config) for i in range(n_hosts)]
