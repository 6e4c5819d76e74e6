"""The two rules every model must beat, scored on the same rows as the model.

* ``static_threshold``: score = the highest current utilisation among the label's resources (percent);
  an operator's "alert at 90 %" rule, with the threshold picked on validation.
* ``predict_linear``: Prometheus' ``predict_linear(x[W], horizon)``: a least-squares line through the
  last ``W`` seconds of each resource, projected to ``t + horizon``; score = the highest projection.
  The window (15 or 30 min) and the threshold are picked on validation.

Both scores are in percent; their pseudo-probability for the Brier score is ``clip(score / 100, 0, 1)``.
Missing utilisation counts as 0 (no alarm), never as a crash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd
    from numpy.typing import NDArray

__all__ = [
    "BASELINES",
    "TREND_WINDOWS_SECONDS",
    "as_probability",
    "static_threshold_score",
    "trend_score",
]

BASELINES = ("static_threshold", "predict_linear")
"""Baseline names, as they appear in tables and bundles."""
TREND_WINDOWS_SECONDS = (900, 1800)
"""Candidate regression windows of ``predict_linear`` (chosen on validation)."""
DEFAULT_THRESHOLDS = {"static_threshold": 90.0, "predict_linear": 95.0}
"""Thresholds used when validation has no positive row to choose from."""


def _present(frame: pd.DataFrame, resources: Sequence[str]) -> list[str]:
    return [r for r in resources if r in frame.columns]


def static_threshold_score(frame: pd.DataFrame, resources: Sequence[str]) -> NDArray[np.float64]:
    """The highest current utilisation among ``resources`` per row (0 where none is known).

    Args:
        frame: Rows with the resource columns (percent).
        resources: Utilisation columns that can be exhausted.

    Returns:
        ``(n,)`` scores in percent.
    """
    columns = _present(frame, resources)
    if not columns:
        return np.zeros(len(frame))
    values = frame[columns].to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(all="ignore"):
        best = np.nanmax(np.where(np.isnan(values), -np.inf, values), axis=1)
    return np.where(np.isfinite(best), best, 0.0)


def _rolling_sum(values: NDArray[np.float64], start: NDArray[np.intp]) -> NDArray[np.float64]:
    """Sum of ``values[start[i] : i + 1]`` for every ``i``, by a cumulative sum."""
    cumulative = np.concatenate(([0.0], np.cumsum(values)))
    return cumulative[np.arange(1, values.size + 1)] - cumulative[start]


def trend_score(
    frame: pd.DataFrame,
    resources: Sequence[str],
    *,
    window_seconds: int,
    horizon_seconds: int,
    step_seconds: int,
) -> NDArray[np.float64]:
    """``predict_linear``: per resource, fit a line over the last ``window_seconds`` and project it.

    Rows must be ordered by host and then time (each host's rows contiguous). The regression uses the
    rows of the same host whose timestamps lie in ``(t - window, t]``, treating NaN values as missing;
    with fewer than 3 points (or a flat time axis) the projection falls back to the latest value.

    Args:
        frame: Rows with ``host_id``, ``timestamp`` and the resource columns, sorted by host then time.
        resources: Utilisation columns that can be exhausted.
        window_seconds: Regression window.
        horizon_seconds: How far ahead to project.
        step_seconds: Sampling step (bounds the number of rows a window can hold).

    Returns:
        ``(n,)`` scores: the highest projected utilisation, percent.
    """
    n = len(frame)
    columns = _present(frame, resources)
    if not columns or n == 0:
        return np.zeros(n)
    host = frame["host_id"].to_numpy()
    ts = frame["timestamp"].to_numpy(dtype=np.int64)
    new_host = np.r_[True, host[1:] != host[:-1]]
    host_start = np.maximum.accumulate(np.where(new_host, np.arange(n), 0))
    if np.any(~new_host & (np.diff(ts, prepend=ts[0]) < 0)):
        raise ValueError("trend_score needs rows sorted by host and then timestamp")
    # Window start by time (robust to gaps), never before the host's first row.
    start = np.maximum(_window_start(new_host, ts, window_seconds), host_start)
    x = (ts - ts[host_start]) / float(step_seconds)
    best = np.full(n, -np.inf)
    for column in columns:
        y = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
        known = ~np.isnan(y)
        y0 = np.where(known, y, 0.0)
        x0 = np.where(known, x, 0.0)
        count = _rolling_sum(known.astype(np.float64), start)
        sx, sy = _rolling_sum(x0, start), _rolling_sum(y0, start)
        sxx, sxy = _rolling_sum(x0 * x0, start), _rolling_sum(x0 * y0, start)
        denominator = count * sxx - sx * sx
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where((count >= 3) & (denominator > 1e-9), (count * sxy - sx * sy) / denominator, 0.0)
            intercept = np.where(count > 0, (sy - slope * sx) / count, np.nan)
        projected = intercept + slope * (x + horizon_seconds / step_seconds)
        # Fall back to the latest known value when the window has no usable regression.
        latest = _last_known(y, host_start)
        projected = np.where(np.isnan(projected), latest, projected)
        best = np.fmax(best, np.where(np.isnan(projected), -np.inf, projected))
    return np.where(np.isfinite(best), best, 0.0)


def _window_start(new_host: NDArray[np.bool_], ts: NDArray[np.int64], window: int) -> NDArray[np.intp]:
    """Index of the first row of the same host with ``timestamp > t - window`` (rows sorted by host, time)."""
    # Key (host block number, time) is increasing over the frame, so one searchsorted does every row.
    block = np.cumsum(new_host).astype(np.int64) - 1
    key = (block << 34) + ts
    return np.searchsorted(key, key - window, side="right").astype(np.intp)


def _last_known(y: NDArray[np.float64], host_start: NDArray[np.intp]) -> NDArray[np.float64]:
    """The latest non-NaN value of ``y`` at or before each row, within the row's host."""
    idx = np.where(~np.isnan(y), np.arange(y.size), -1)
    idx = np.maximum.accumulate(idx)
    valid = idx >= host_start
    return np.where(valid, y[np.maximum(idx, 0)], np.nan)


def as_probability(score: NDArray[np.float64]) -> NDArray[np.float64]:
    """A baseline's percent score as a pseudo-probability, for the Brier score."""
    return np.clip(np.asarray(score, dtype=np.float64) / 100.0, 0.0, 1.0)
