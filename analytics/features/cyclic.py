"""Cyclic calendar features (UTC): time of day and day of week on the unit circle."""

from __future__ import annotations

from analytics.features.spec import FeatureSpec, Kind

__all__ = ["CALENDAR"]

CALENDAR: tuple[FeatureSpec, ...] = (
    FeatureSpec("hour_sin", Kind.HOUR_SIN, help="sin(2 pi * time of day / 24 h), UTC"),
    FeatureSpec("hour_cos", Kind.HOUR_COS, help="cos(2 pi * time of day / 24 h), UTC"),
    FeatureSpec("dow_sin", Kind.DOW_SIN, help="sin(2 pi * day of week / 7), Monday 00:00 UTC = 0"),
    FeatureSpec("dow_cos", Kind.DOW_COS, help="cos(2 pi * day of week / 7), Monday 00:00 UTC = 0"),
)
