"""Metrics of an exhaustion predictor: ranking, at-threshold, calibration, alarm rate and lead time.

Every function here takes plain numpy arrays, so models and baselines are scored by the same code on
the same rows. Rows inside an exhaustion episode (``exhausted == 1``) are not onset examples: callers
drop them before :func:`classification_metrics`, and :func:`lead_times` ignores alarms raised on them.

Undefined values are NaN, never an exception: a split with no positives has no ROC-AUC, PR-AUC,
recall or lead time, and :func:`classification_metrics` says why in ``note``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "METRIC_NAMES",
    "EpisodeLeads",
    "choose_threshold",
    "classification_metrics",
    "early_alarm_share",
    "lead_time_summary",
    "lead_times",
]

METRIC_NAMES = (
    "roc_auc",
    "pr_auc",
    "precision",
    "recall",
    "f1",
    "brier",
    "alarm_rate",
    "median_lead_time_minutes",
    "episodes_detected",
    "episodes_total",
    "early_alarm_share",
)
"""The metrics every predictor reports, in table order (plus ``threshold``, ``rows``, ``positives``)."""


def classification_metrics(
    y: NDArray[Any], score: NDArray[Any], probability: NDArray[Any], threshold: float
) -> dict[str, Any]:
    """Ranking and at-threshold metrics of one predictor on onset rows.

    Args:
        y: 0/1 labels.
        score: The predictor's score (any monotone scale; ranks and the threshold use it).
        probability: The score as a probability in [0, 1], for the Brier score.
        threshold: Alarm when ``score >= threshold``.

    Returns:
        ``roc_auc``, ``pr_auc``, ``precision``, ``recall``, ``f1``, ``brier``, ``alarm_rate``,
        ``threshold``, ``rows``, ``positives`` and ``note`` (why some values are NaN, or empty).
    """
    y = np.asarray(y, dtype=np.int8)
    score = np.nan_to_num(np.asarray(score, dtype=np.float64), nan=-np.inf)
    probability = np.clip(np.nan_to_num(np.asarray(probability, dtype=np.float64), nan=0.0), 0.0, 1.0)
    n = int(y.size)
    positives = int(y.sum())
    alarm = score >= threshold
    tp = int(np.sum(alarm & (y == 1)))
    n_alarm = int(alarm.sum())
    notes: list[str] = []
    nan = math.nan
    if n == 0:
        notes.append("no rows")
    elif positives == 0:
        notes.append("no positive rows: ROC-AUC, PR-AUC, recall and F1 are undefined")
    elif positives == n:
        notes.append("no negative rows: ROC-AUC is undefined")
    ranked = 0 < positives < n
    finite_score = np.where(np.isinf(score), np.finfo(np.float64).min, score)
    precision = tp / n_alarm if n_alarm else nan
    if n_alarm == 0 and n:
        notes.append("no alarms: precision is undefined")
    recall = tp / positives if positives else nan
    f1 = nan
    if positives and n_alarm:
        f1 = 2 * tp / (n_alarm + positives)
    return {
        "roc_auc": float(roc_auc_score(y, finite_score)) if ranked else nan,
        "pr_auc": float(average_precision_score(y, finite_score)) if positives else nan,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "brier": float(np.mean((probability - y) ** 2)) if n else nan,
        "alarm_rate": n_alarm / n if n else nan,
        "threshold": float(threshold),
        "rows": n,
        "positives": positives,
        "note": "; ".join(notes),
    }


def choose_threshold(
    y: NDArray[Any], score: NDArray[Any], *, min_precision: float | None = None, default: float
) -> tuple[float, str]:
    """Pick the alarm threshold on validation rows: the best F1, or the best recall at a precision floor.

    Args:
        y: 0/1 validation labels.
        score: Validation scores.
        min_precision: If set, maximise recall subject to precision >= this (falls back to F1 when no
            threshold reaches it).
        default: Returned when validation has no positive rows (nothing to choose from).

    Returns:
        ``(threshold, how)``; ``how`` says which rule produced it.
    """
    y = np.asarray(y, dtype=np.int8)
    score = np.nan_to_num(np.asarray(score, dtype=np.float64), nan=np.finfo(np.float64).min)
    if y.size == 0 or y.sum() == 0:
        return float(default), "default (validation has no positive rows)"
    precision, recall, thresholds = precision_recall_curve(y, score)
    precision, recall = precision[:-1], recall[:-1]
    if min_precision is not None:
        ok = precision >= min_precision
        if ok.any():
            best = int(np.flatnonzero(ok)[np.argmax(recall[ok])])
            return float(thresholds[best]), f"max recall at precision >= {min_precision:g} on validation"
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return float(thresholds[int(np.argmax(f1))]), "max F1 on validation"


@dataclass(frozen=True)
class EpisodeLeads:
    """Exhaustion episodes of an evaluated period and how early each was announced."""

    host_id: NDArray[Any]
    """Host of each episode."""
    onset: NDArray[np.int64]
    """Onset time (first exhausted row), epoch seconds."""
    lead_minutes: NDArray[np.float64]
    """Minutes from the first alarm in [onset - horizon, onset) to the onset; NaN when missed."""


def lead_times(
    host_id: NDArray[Any],
    timestamp: NDArray[Any],
    exhausted: NDArray[Any],
    alarm: NDArray[Any],
    horizon_seconds: int,
) -> EpisodeLeads:
    """Lead time of each exhaustion episode onset.

    An onset is a row with ``exhausted == 1`` whose previous row of the same host has ``exhausted == 0``
    (an episode already running at a host's first row has no known onset and is skipped). Its lead time is
    the time from the first alarm raised on a non-exhausted row in ``[onset - horizon, onset)`` to the onset.

    Args:
        host_id: Host of each row.
        timestamp: Epoch seconds of each row.
        exhausted: 1 while a row is inside an exhaustion episode.
        alarm: Whether the predictor alarms on each row.
        horizon_seconds: The prediction horizon.

    Returns:
        One entry per episode onset.
    """
    line = _timeline(host_id, timestamp, exhausted)
    alarm = np.asarray(alarm, dtype=bool)[line.order] & ~line.exhausted
    onset_idx = line.onsets
    leads = np.full(onset_idx.size, np.nan)
    if onset_idx.size:
        # The first alarm at or after onset - horizon on the same host: one searchsorted over the keys.
        alarm_key = line.key[alarm]
        onset_ts = line.ts[onset_idx]
        base = line.key[onset_idx] - onset_ts
        first = np.searchsorted(alarm_key, base + onset_ts - horizon_seconds, side="left")
        found = first < alarm_key.size
        first_ts = np.full(onset_idx.size, np.iinfo(np.int64).max)
        first_ts[found] = alarm_key[first[found]] - base[found]
        hit = first_ts < onset_ts
        leads[hit] = (onset_ts[hit] - first_ts[hit]) / 60.0
    return EpisodeLeads(line.host[onset_idx], line.ts[onset_idx], leads)


class _Timeline(NamedTuple):
    """Rows sorted by host then time, with what :func:`lead_times` and :func:`early_alarm_share` share."""

    order: NDArray[np.intp]
    """The sorting permutation (apply it to any other per-row array)."""
    host: NDArray[Any]
    ts: NDArray[np.int64]
    exhausted: NDArray[np.bool_]
    key: NDArray[np.int64]
    """``(host code << 34) + ts``: sorted; hosts lie 2**34 s apart, so differences within a host are times."""
    onsets: NDArray[np.intp]
    """Rows where an episode starts: exhausted, after a non-exhausted row of the same host (an episode
    running at a host's first row has no known onset)."""


def _timeline(host_id: NDArray[Any], timestamp: NDArray[Any], exhausted: NDArray[Any]) -> _Timeline:
    host = np.asarray(host_id)
    ts = np.asarray(timestamp, dtype=np.int64)
    order = np.lexsort((ts, host))
    host, ts = host[order], ts[order]
    exh = np.asarray(exhausted, dtype=np.int8)[order] == 1
    same_host = np.r_[False, host[1:] == host[:-1]]
    onsets = np.flatnonzero(exh & same_host & ~np.r_[False, exh[:-1]])
    key = (np.unique(host, return_inverse=True)[1].astype(np.int64) << 34) + ts
    return _Timeline(order, host, ts, exh, key, onsets)


def count_onsets(host_id: NDArray[Any], timestamp: NDArray[Any], exhausted: NDArray[Any]) -> int:
    """Exhaustion episodes that start among these rows, by the rule of :func:`lead_times` (an episode already
    running at a host's first row has no known onset)."""
    return int(_timeline(host_id, timestamp, exhausted).onsets.size)


def lead_time_summary(episodes: EpisodeLeads) -> dict[str, Any]:
    """Median lead time over detected episodes, and detected / total episode counts.

    Args:
        episodes: The output of :func:`lead_times`.

    Returns:
        ``median_lead_time_minutes`` (NaN when none was detected), ``episodes_detected``, ``episodes_total``.
    """
    detected = episodes.lead_minutes[~np.isnan(episodes.lead_minutes)]
    return {
        "median_lead_time_minutes": float(np.median(detected)) if detected.size else math.nan,
        "episodes_detected": int(detected.size),
        "episodes_total": int(episodes.lead_minutes.size),
    }


def early_alarm_share(
    host_id: NDArray[Any],
    timestamp: NDArray[Any],
    exhausted: NDArray[Any],
    label: NDArray[Any],
    alarm: NDArray[Any],
    horizon_seconds: int,
) -> float:
    """Of the false alarms (alarmed onset rows whose label is 0), the share that were merely early.

    A false alarm is early when an exhaustion episode does start on that host within two horizons: the
    alarm came 30-60 min ahead of a real onset (with the default horizon) rather than for nothing. Row
    precision counts these as wrong, so this tells an operator what the false alarms are made of.

    Args:
        host_id: Host of each row.
        timestamp: Epoch seconds of each row.
        exhausted: 1 while a row is inside an exhaustion episode.
        label: The onset label of each row.
        alarm: Whether the predictor alarms on each row.
        horizon_seconds: The prediction horizon.

    Returns:
        The share in [0, 1]; NaN when there is no false alarm.
    """
    line = _timeline(host_id, timestamp, exhausted)
    false = np.asarray(alarm, dtype=bool)[line.order] & ~line.exhausted & (np.asarray(label)[line.order] == 0)
    if not false.any():
        return math.nan
    if not line.onsets.size:
        return 0.0
    onset_key, key = line.key[line.onsets], line.key[false]
    following = np.searchsorted(onset_key, key, side="right")  # the first onset after the row, any host
    found = following < onset_key.size
    gap = np.full(key.size, np.iinfo(np.int64).max)
    gap[found] = onset_key[following[found]] - key[found]  # a later host's key is >= 2**34 away
    return float(np.mean(gap <= 2 * horizon_seconds))
