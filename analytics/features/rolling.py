"""Rolling statistics, smoothing, lags and rates of change of the exhaustible resources."""

from __future__ import annotations

from analytics.features.spec import FeatureSpec, Kind

__all__ = ["RESOURCES", "ROLLING"]

RESOURCES: tuple[str, ...] = ("cpu_util", "mem_util", "disk_util")
"""Utilisation metrics that get the full set of per-resource features."""

_MINUTE = 60


def _rolling(r: str) -> tuple[FeatureSpec, ...]:
    specs = [
        FeatureSpec(f"{r}_mean_{m}m", Kind.MEAN, r, m * _MINUTE, help=f"{r} mean, last {m} min")
        for m in (5, 15, 60)
    ]
    specs += [
        FeatureSpec(f"{r}_std_{m}m", Kind.STD, r, m * _MINUTE, help=f"{r} std, last {m} min")
        for m in (15, 60)
    ]
    specs += [
        FeatureSpec(f"{r}_max_{m}m", Kind.MAX, r, m * _MINUTE, help=f"{r} max, last {m} min")
        for m in (15, 60)
    ]
    specs += [
        FeatureSpec(f"{r}_min_60m", Kind.MIN, r, 60 * _MINUTE, help=f"{r} min, last 60 min"),
        FeatureSpec(
            f"{r}_ewma_15m",
            Kind.EWMA,
            r,
            15 * _MINUTE,
            half_life_seconds=5 * _MINUTE,
            help=f"{r} exponentially weighted mean, half-life 5 min, last 15 min",
        ),
        FeatureSpec(f"{r}_lag_15m", Kind.LAG, r, 15 * _MINUTE, help=f"{r} 15 min ago"),
        FeatureSpec(f"{r}_rate_5m", Kind.RATE, r, 5 * _MINUTE, help=f"{r} change over 5 min, per second"),
    ]
    return tuple(specs)


ROLLING: tuple[FeatureSpec, ...] = tuple(s for r in RESOURCES for s in _rolling(r))
