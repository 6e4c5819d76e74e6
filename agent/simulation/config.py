"""The episode mix: how often each kind of event happens on each role, and how fast precursors run.

These are the knobs to calibrate the simulated fleet against the model and the baselines (see
``python -m analytics.generate.inspect``). Everything here is in plain units: episodes per day of a host,
minutes, percent. The defaults give roughly one exhaustion episode per host-day with about 3 % of the
non-exhausted rows within 30 minutes of an onset, and make neither the static-threshold rule nor a linear
trend rule near perfect.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_RATES",
    "PRECURSOR_KINDS",
    "STATE_KINDS",
    "PrecursorSettings",
    "SimulationConfig",
]

Range = tuple[float, float]

PRECURSOR_KINDS: Final = ("leak", "disk_fill", "surge", "runaway")
"""Episodes that may end in exhaustion: memory leak, filling disk, traffic surge, runaway process."""
STATE_KINDS: Final = ("cpu_spike", "mem_spike", "batch_job", "deploy")
"""Episodes that never do: sub-minimum-duration spikes, hours of 85-93 % CPU, restarts."""

# Episodes per day of one host, per role and kind (precursors: whether or not they end in exhaustion).
# fmt: off
DEFAULT_RATES: Final[dict[str, dict[str, float]]] = {
    "web":    {"leak": 0.35, "disk_fill": 0.25, "surge": 1.2, "runaway": 0.35,
               "cpu_spike": 5.0, "mem_spike": 0.0, "batch_job": 0.0, "deploy": 1.0},
    "api":    {"leak": 0.7, "disk_fill": 0.2, "surge": 0.9, "runaway": 0.35,
               "cpu_spike": 5.0, "mem_spike": 1.0, "batch_job": 0.0, "deploy": 1.0},
    "db":     {"leak": 0.3, "disk_fill": 0.5, "surge": 0.25, "runaway": 0.4,
               "cpu_spike": 3.0, "mem_spike": 2.0, "batch_job": 0.4, "deploy": 0.05},
    "cache":  {"leak": 0.35, "disk_fill": 0.15, "surge": 0.8, "runaway": 0.2,
               "cpu_spike": 2.0, "mem_spike": 1.5, "batch_job": 0.0, "deploy": 0.1},
    "batch":  {"leak": 0.6, "disk_fill": 0.5, "surge": 0.0, "runaway": 0.35,
               "cpu_spike": 6.0, "mem_spike": 3.0, "batch_job": 1.2, "deploy": 0.1},
    "worker": {"leak": 0.6, "disk_fill": 0.3, "surge": 0.5, "runaway": 0.5,
               "cpu_spike": 5.0, "mem_spike": 1.0, "batch_job": 0.6, "deploy": 0.8},
}
# fmt: on


@dataclass(frozen=True)
class PrecursorSettings:
    """Speed and outcome of one precursor kind."""

    exhaust_probability: float
    """Share of precursors that end in exhaustion; the others stop short (restart, rotation, recession)."""
    lead_minutes: Range
    """Precursor start to exhaustion onset, drawn log-uniformly (the precursor's speed)."""
    sudden_fraction: float
    """Share of exhausting precursors that come with little warning (``sudden_lead_minutes``)."""
    sudden_lead_minutes: Range
    """Lead time of the sudden ones."""
    held_minutes: Range
    """How long the resource stays exhausted before the fix (OOM kill, cleanup, scale-out, kill)."""
    abort_level: Range
    """Utilisation (percent) at which a non-exhausting precursor is stopped."""
    abort_lead_minutes: Range
    """Speed of the precursors that stop short: slower ones, which someone notices in time."""


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that shapes the fleet's events. ``DEFAULT_CONFIG`` is the calibrated default."""

    rates: dict[str, dict[str, float]] = field(default_factory=lambda: DEFAULT_RATES)
    """Episodes per host-day, per role and kind (see :data:`DEFAULT_RATES`)."""
    precursor_scale: float = 1.0
    """Multiplies every precursor rate (one knob for the positive rate)."""
    leak: PrecursorSettings = PrecursorSettings(
        exhaust_probability=0.88,
        lead_minutes=(40, 240),
        sudden_fraction=0.05,
        sudden_lead_minutes=(12, 25),
        held_minutes=(4, 20),
        abort_level=(72, 86),
        abort_lead_minutes=(150, 600),
    )
    """Memory leak: linear, stepwise or accelerating rise of memory and swap, then OOM and restart."""
    disk_fill: PrecursorSettings = PrecursorSettings(
        exhaust_probability=0.88,
        lead_minutes=(45, 300),
        sudden_fraction=0.05,
        sudden_lead_minutes=(12, 25),
        held_minutes=(10, 60),
        abort_level=(80, 90),
        abort_lead_minutes=(150, 720),
    )
    """Filling disk: bursty log growth with its write throughput, then full, then cleanup."""
    surge: PrecursorSettings = PrecursorSettings(
        exhaust_probability=0.88,
        lead_minutes=(40, 70),
        sudden_fraction=0.06,
        sudden_lead_minutes=(8, 15),
        held_minutes=(8, 40),
        abort_level=(50, 75),
        abort_lead_minutes=(10, 30),
    )
    """Traffic surge: CPU, network, load and workers ramp together to saturation, then recede."""
    runaway: PrecursorSettings = PrecursorSettings(
        exhaust_probability=0.88,
        lead_minutes=(30, 90),
        sudden_fraction=0.07,
        sudden_lead_minutes=(2, 6),
        held_minutes=(5, 30),
        abort_level=(55, 78),
        abort_lead_minutes=(60, 180),
    )
    """Runaway processes: stuck jobs pile up step by step (or one process spins up in minutes)."""
    spike_seconds: Range = (20.0, 110.0)
    """Brief spikes to 97-100 %: shorter than two 60 s samples, so never an exhaustion episode."""
    batch_job_hours: Range = (1.5, 5.0)
    """Duration of a CPU-heavy job (batch: also one every night)."""
    batch_job_level: Range = (85.0, 93.0)
    """CPU percent a job holds (soft-capped below the exhaustion threshold)."""

    def rate(self, role: str, kind: str) -> float:
        """Episodes per day of ``kind`` on a host of ``role`` (0 when not configured)."""
        base = self.rates.get(role, {}).get(kind, 0.0)
        return base * self.precursor_scale if kind in PRECURSOR_KINDS else base

    def precursor(self, kind: str) -> PrecursorSettings:
        """The settings of precursor ``kind`` (one of :data:`PRECURSOR_KINDS`)."""
        settings: PrecursorSettings = getattr(self, kind)
        return settings

    def scaled(self, factor: float) -> SimulationConfig:
        """A copy with every precursor rate multiplied by ``factor``."""
        return replace(self, precursor_scale=self.precursor_scale * factor)


DEFAULT_CONFIG: Final = SimulationConfig()
