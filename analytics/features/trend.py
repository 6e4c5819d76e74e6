"""Trends and exhaustion-oriented features: slopes, headroom, linear time to full, time since last high."""

from __future__ import annotations

from analytics.features.rolling import RESOURCES
from analytics.features.spec import FeatureSpec, Kind

__all__ = ["EXHAUSTED_PERCENT", "HIGH_PERCENT", "TREND"]

HIGH_PERCENT = 90.0
"""Utilisation counted as "high" by ``*_since_high``."""
EXHAUSTED_PERCENT = 95.0
"""The level ``*_time_to_95_*`` extrapolate to: the default exhaustion threshold of the labels."""
_SINCE_HIGH_CAP = 3 * 3600
_TTF_CAP = 6 * 3600


def _trend(r: str) -> tuple[FeatureSpec, ...]:
    return (
        FeatureSpec(
            f"{r}_slope_15m", Kind.SLOPE, r, 15 * 60, help=f"{r} least-squares slope, last 15 min, per s"
        ),
        FeatureSpec(
            f"{r}_slope_60m", Kind.SLOPE, r, 60 * 60, help=f"{r} least-squares slope, last 60 min, per s"
        ),
        FeatureSpec(f"{r}_headroom", Kind.HEADROOM, r, help=f"100 - {r}"),
        FeatureSpec(
            f"{r}_time_to_full",
            Kind.TIME_TO_FULL,
            r,
            15 * 60,
            threshold=100.0,
            cap_seconds=_TTF_CAP,
            help=f"seconds until {r} reaches 100 at its 15 min slope (capped at 6 h)",
        ),
        # Time to the exhaustion level itself, at a short and a long slope: the label asks "95 % within
        # 30 min", and a ratio is what trees approximate worst from headroom and slope apart.
        *(
            FeatureSpec(
                f"{r}_time_to_95_{m}m",
                Kind.TIME_TO_FULL,
                r,
                m * 60,
                threshold=EXHAUSTED_PERCENT,
                cap_seconds=_TTF_CAP,
                help=f"seconds until {r} reaches {EXHAUSTED_PERCENT:g} at its {m} min slope (capped at 6 h)",
            )
            for m in (15, 60)
        ),
        FeatureSpec(
            f"{r}_since_high",
            Kind.SINCE_HIGH,
            r,
            threshold=HIGH_PERCENT,
            cap_seconds=_SINCE_HIGH_CAP,
            help=f"seconds since {r} was >= {HIGH_PERCENT:g} % (capped at 3 h)",
        ),
    )


TREND: tuple[FeatureSpec, ...] = tuple(s for r in RESOURCES for s in _trend(r))
