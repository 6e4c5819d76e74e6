"""Score several predictors on the same rows and tabulate them: the one path for train, evaluate, backtest.

A predictor is given as its score on every row of the evaluated period (exhausted rows included, so
lead times can find episode onsets), a pseudo-probability for the Brier score, and its threshold.
Classification metrics use onset rows only (``exhausted == 0``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from analytics.evaluation.baselines import (
    DEFAULT_THRESHOLDS,
    TREND_WINDOWS_SECONDS,
    as_probability,
    static_threshold_score,
    trend_score,
)
from analytics.evaluation.metrics import (
    EpisodeLeads,
    choose_threshold,
    classification_metrics,
    early_alarm_share,
    lead_time_summary,
    lead_times,
)
from analytics.training.split import host_family

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd
    from numpy.typing import NDArray

__all__ = ["BaselineScores", "Evaluation", "PredictorOutput", "baseline_scores", "evaluate", "fit_baselines"]


MAX_FAMILIES = 30
"""Above this many host families the per-family breakdown is not computed (host ids carry no role)."""


@dataclass(frozen=True)
class PredictorOutput:
    """One predictor's output on every row of the evaluated period."""

    score: NDArray[np.float64]
    """Score per row (alarm when ``score >= threshold``)."""
    probability: NDArray[np.float64]
    """The score as a probability, for the Brier score and the calibration plot."""
    threshold: float
    """Alarm threshold (chosen on validation)."""


@dataclass
class Evaluation:
    """Metrics of each predictor on the same rows, and what the plots need."""

    table: dict[str, dict[str, Any]]
    """Predictor -> metrics (see ``analytics.evaluation.metrics.METRIC_NAMES``)."""
    y: NDArray[np.int8]
    """Labels of the onset rows."""
    scores: dict[str, NDArray[np.float64]]
    """Predictor -> score on the onset rows."""
    probabilities: dict[str, NDArray[np.float64]]
    """Predictor -> probability on the onset rows."""
    leads: dict[str, EpisodeLeads]
    """Predictor -> lead time of every episode."""
    breakdown: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """``by_family`` / ``by_resource`` -> group -> metrics of the first predictor."""


@dataclass(frozen=True)
class BaselineScores:
    """Baseline scores over a whole frame and their parameters (window, threshold)."""

    scores: dict[str, NDArray[np.float64]]
    """Baseline -> score per row of the frame."""
    params: dict[str, dict[str, float]]
    """Baseline -> ``threshold`` (and ``window_seconds`` for ``predict_linear``)."""


def baseline_scores(
    frame: pd.DataFrame,
    resources: Sequence[str],
    *,
    step_seconds: int,
    horizon_seconds: int,
    windows: Sequence[int] = TREND_WINDOWS_SECONDS,
) -> dict[str, NDArray[np.float64]]:
    """Static and trend scores of every row (``predict_linear@<window>`` per candidate window)."""
    out = {"static_threshold": static_threshold_score(frame, resources)}
    for window in windows:
        out[f"predict_linear@{window}"] = trend_score(
            frame,
            resources,
            window_seconds=window,
            horizon_seconds=horizon_seconds,
            step_seconds=step_seconds,
        )
    return out


def fit_baselines(
    frame: pd.DataFrame,
    resources: Sequence[str],
    validation: NDArray[np.bool_],
    *,
    step_seconds: int,
    horizon_seconds: int,
) -> BaselineScores:
    """Score the baselines on every row and choose their window and threshold on validation onset rows.

    Args:
        frame: All rows, sorted by host then time (the trend needs each host's history).
        resources: Label resources.
        validation: Validation onset rows.
        step_seconds: Sampling step.
        horizon_seconds: Label horizon.

    Returns:
        Scores over the frame and the chosen parameters.
    """
    raw = baseline_scores(frame, resources, step_seconds=step_seconds, horizon_seconds=horizon_seconds)
    y_val = frame["label"].to_numpy()[validation]
    best_window, best_ap = TREND_WINDOWS_SECONDS[0], -math.inf
    for window in TREND_WINDOWS_SECONDS:
        ap = classification_metrics(y_val, raw[f"predict_linear@{window}"][validation], y_val, 0.0)["pr_auc"]
        if not math.isnan(ap) and ap > best_ap:
            best_window, best_ap = window, ap
    scores = {
        "static_threshold": raw["static_threshold"],
        "predict_linear": raw[f"predict_linear@{best_window}"],
    }
    params: dict[str, dict[str, float]] = {}
    for name, score in scores.items():
        threshold, _ = choose_threshold(y_val, score[validation], default=DEFAULT_THRESHOLDS[name])
        params[name] = {"threshold": threshold}
    params["predict_linear"]["window_seconds"] = float(best_window)
    return BaselineScores(scores, params)


def evaluate(
    frame: pd.DataFrame,
    outputs: Mapping[str, PredictorOutput],
    *,
    horizon_seconds: int,
    resources: Sequence[str] = (),
) -> Evaluation:
    """Score every predictor on the rows of ``frame`` (one evaluated period, exhausted rows included).

    Args:
        frame: Rows with ``host_id``, ``timestamp``, ``label``, ``exhausted`` (and ``exhausted_<r>``).
        outputs: Predictor name -> its output on these rows (the first one gets the breakdown).
        horizon_seconds: Label horizon (the lead-time window).
        resources: Resources for the per-resource breakdown.

    Returns:
        The evaluation.
    """
    onset = frame["exhausted"].to_numpy() == 0
    y = frame["label"].to_numpy().astype(np.int8)[onset]
    host = frame["host_id"].to_numpy()
    ts = frame["timestamp"].to_numpy()
    exhausted = frame["exhausted"].to_numpy()
    labels = frame["label"].to_numpy()
    table: dict[str, dict[str, Any]] = {}
    leads: dict[str, EpisodeLeads] = {}
    for name, out in outputs.items():
        metrics = classification_metrics(y, out.score[onset], out.probability[onset], out.threshold)
        alarm = out.score >= out.threshold
        leads[name] = lead_times(host, ts, exhausted, alarm, horizon_seconds)
        metrics |= lead_time_summary(leads[name])
        metrics["early_alarm_share"] = early_alarm_share(host, ts, exhausted, labels, alarm, horizon_seconds)
        table[name] = metrics
    evaluation = Evaluation(
        table=table,
        y=y,
        scores={k: v.score[onset] for k, v in outputs.items()},
        probabilities={k: v.probability[onset] for k, v in outputs.items()},
        leads=leads,
    )
    if outputs:
        first = next(iter(outputs.values()))
        evaluation.breakdown = _breakdown(frame, first, onset, horizon_seconds, resources)
    return evaluation


def _breakdown(
    frame: pd.DataFrame,
    out: PredictorOutput,
    onset: NDArray[np.bool_],
    horizon_seconds: int,
    resources: Sequence[str],
) -> dict[str, dict[str, dict[str, Any]]]:
    host = frame["host_id"].to_numpy().astype(str)
    ts = frame["timestamp"].to_numpy()
    alarm = out.score >= out.threshold
    family = np.array([host_family(h) for h in np.unique(host)])
    family_of = dict(zip(np.unique(host), family, strict=True))
    fam = np.array([family_of[h] for h in host])
    by_family: dict[str, dict[str, Any]] = {}
    families = np.unique(fam)
    # Host ids without a role-and-number shape (pod names with hashes) give one family per host: skip.
    for name in families if families.size <= MAX_FAMILIES else ():
        rows = fam == name
        sub = classification_metrics(
            frame["label"].to_numpy()[rows & onset],
            out.score[rows & onset],
            out.probability[rows & onset],
            out.threshold,
        )
        leads = lead_times(
            host[rows], ts[rows], frame["exhausted"].to_numpy()[rows], alarm[rows], horizon_seconds
        )
        by_family[str(name)] = {k: sub[k] for k in ("rows", "positives", "precision", "recall", "alarm_rate")}
        by_family[str(name)] |= lead_time_summary(leads)
    by_resource: dict[str, dict[str, Any]] = {}
    for resource in resources:
        column = f"exhausted_{resource}"
        if column not in frame:
            continue
        leads = lead_times(host, ts, frame[column].to_numpy(), alarm, horizon_seconds)
        by_resource[resource] = lead_time_summary(leads)
        label = f"label_{resource}"
        if label in frame:
            positive = (frame[label].to_numpy() == 1) & onset
            by_resource[resource]["row_recall"] = (
                float(alarm[positive].mean()) if positive.any() else math.nan
            )
    return {"by_family": by_family, "by_resource": by_resource}


def model_output(probability: NDArray[np.float64], threshold: float) -> PredictorOutput:
    """A model's output: its calibrated probability is both its score and its probability."""
    return PredictorOutput(probability, probability, threshold)


def baseline_output(score: NDArray[np.float64], threshold: float) -> PredictorOutput:
    """A baseline's output: percent score, probability ``score / 100``."""
    return PredictorOutput(score, as_probability(score), threshold)
