"""Current values: every metric of the wire schema as resampled (clipped, forward-filled within the limit)."""

from __future__ import annotations

from agent.wire import METRICS
from analytics.features.spec import FeatureSpec, Kind

__all__ = ["CURRENT"]

CURRENT: tuple[FeatureSpec, ...] = tuple(
    FeatureSpec(m.name, Kind.VALUE, m.name, help=f"{m.help} (current)") for m in METRICS
)
