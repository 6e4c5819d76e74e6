"""The vocabulary of the feature specification: what a feature is, independent of any engine.

A :class:`FeatureSpec` names a feature, its source metric, its kind and its parameters. Windows are declared
in seconds and converted to rows of the uniform resampling step by :func:`window_rows`, so the same
specification serves 60 s and 300 s data. The Spark implementation (``analytics.features.spark``) and the
numpy implementation (``analytics.features.online``) both read these declarations; a parity test holds them
equal.

Semantics shared by both implementations (``x`` is the source metric on the uniform grid, missing = NaN/null):

* ``value``: ``x_t``.
* ``mean`` / ``std`` / ``min`` / ``max`` over the last ``n = window_rows`` rows ``t-n+1 .. t``, ignoring
  missing values; NaN when the window holds no value (``std``: fewer than two; sample standard deviation).
* ``slope``: least-squares slope of ``x`` against time (units per second) over the same rows, on the
  non-missing points; NaN with fewer than two points.
* ``mean``, ``std`` and ``slope`` (so ``time_to_full`` too) read utilisation rounded to :data:`QUANTUM`
  (``floor(x * 10_000 + 0.5)``, exact integers): their window sums are exact, so batch and online agree bit
  for bit and no catastrophic cancellation creeps into a flat window's deviation.
* ``ewma``: exponentially weighted mean over the window, weight ``0.5 ** (k * step / half_life)`` for the row
  ``k`` steps back, normalised over non-missing rows (a truncated EWMA that is the same in batch and online).
* ``lag``: ``x_{t-n}``; ``rate``: ``(x_t - x_{t-n}) / (n * step)`` per second.
* ``since_high``: seconds since ``x`` was last ``>= threshold`` within ``(t - cap, t]``; ``cap`` when it
  was not; NaN when ``x`` was never observed in that span.
* ``headroom``: ``100 - x_t``.
* ``time_to_full``: ``(threshold - x_t) / slope`` (the slope over ``window``) in seconds, clipped to
  ``[0, cap]``; ``cap`` when the slope is not positive; ``0`` when ``x_t`` is at or above ``threshold``; NaN
  when either is missing.
* ``ratio``: ``x / (other + offset)``; ``log_ratio``: ``ln(1 + x) - ln(1 + other)``; ``max_of``: the largest
  of ``x`` and ``others`` (missing ignored).
* ``hour_sin`` / ``hour_cos`` / ``dow_sin`` / ``dow_cos``: time of day and day of week (UTC, Monday = 0) on
  the unit circle.

Features never look at rows after ``t``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["QUANTUM", "FeatureSpec", "Kind", "ewma_weights", "rows_for", "window_rows"]

QUANTUM = 10_000
"""Utilisation is rounded to 1/QUANTUM of a percentage point for ``mean``/``std``/``slope``."""


class Kind(StrEnum):
    """How a feature is computed (see the module docstring for the exact semantics)."""

    VALUE = "value"
    MEAN = "mean"
    STD = "std"
    MIN = "min"
    MAX = "max"
    SLOPE = "slope"
    EWMA = "ewma"
    LAG = "lag"
    RATE = "rate"
    SINCE_HIGH = "since_high"
    HEADROOM = "headroom"
    TIME_TO_FULL = "time_to_full"
    RATIO = "ratio"
    LOG_RATIO = "log_ratio"
    MAX_OF = "max_of"
    HOUR_SIN = "hour_sin"
    HOUR_COS = "hour_cos"
    DOW_SIN = "dow_sin"
    DOW_COS = "dow_cos"


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One derived feature, declared once for every implementation."""

    name: str
    """Column name in the feature table and position key in the online vector."""
    kind: Kind
    """How it is computed."""
    source: str | None = None
    """Metric column it is computed from (``None`` for calendar features)."""
    window_seconds: int = 0
    """Look-back span (windowed kinds) or offset (``lag``/``rate``), in seconds."""
    other: tuple[str, ...] = ()
    """Further metric columns (``ratio``, ``log_ratio``: one; ``max_of``: any)."""
    threshold: float = 0.0
    """``since_high``: the level counted as high; ``time_to_full``: the level extrapolated to (percent)."""
    half_life_seconds: float = 0.0
    """``ewma``: half-life of the weights."""
    cap_seconds: int = 0
    """``since_high``, ``time_to_full``: upper bound of the value (and look-back of ``since_high``)."""
    offset: float = 0.0
    """``ratio``: added to the denominator so that it is never zero."""
    help: str = ""
    """One line for humans (model cards, docs)."""

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every metric column the feature reads."""
        return ((self.source,) if self.source else ()) + self.other


def window_rows(window_seconds: float, step_seconds: int, minimum: int = 1) -> int:
    """Rows of a ``window_seconds`` window on a grid of ``step_seconds`` (rounded, at least ``minimum``).

    Args:
        window_seconds: Declared window.
        step_seconds: Uniform resampling step.
        minimum: Smallest number of rows returned.

    Returns:
        The number of rows.
    """
    if step_seconds <= 0:
        raise ValueError(f"step_seconds must be positive, got {step_seconds}")
    return max(minimum, math.floor(window_seconds / step_seconds + 0.5))


def rows_for(spec: FeatureSpec, step_seconds: int) -> int:
    """Rows a feature's window spans on ``step_seconds`` (slopes and deviations need two, lags one)."""
    minimum = 2 if spec.kind in {Kind.STD, Kind.SLOPE, Kind.TIME_TO_FULL} else 1
    return window_rows(spec.window_seconds, step_seconds, minimum)


def ewma_weights(spec: FeatureSpec, step_seconds: int) -> list[float]:
    """Weights of an ``ewma`` feature, newest row first."""
    rows = rows_for(spec, step_seconds)
    return [0.5 ** (k * step_seconds / spec.half_life_seconds) for k in range(rows)]
