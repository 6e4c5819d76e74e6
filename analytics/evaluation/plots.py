"""PNG plots of an evaluation: ROC and PR curves (models beside baselines on the same axes), calibration,
lead-time histogram, feature importance.

Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas directly: no pyplot, no global
state, no display needed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from numpy.typing import NDArray

    from analytics.evaluation.scoring import Evaluation

__all__ = ["PLOT_FILES", "write_plots"]

PLOT_FILES = {
    "roc": "roc_curve.png",
    "pr": "pr_curve.png",
    "calibration": "calibration.png",
    "lead_time": "lead_time_hist.png",
    "importance": "feature_importance.png",
}
"""Plot -> file name inside the output directory."""


def _figure(width: float = 6.0, height: float = 4.5) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _styles(name: str) -> dict[str, object]:
    return {"linestyle": "--"} if name in {"static_threshold", "predict_linear"} else {"linewidth": 2}


def _roc(evaluation: Evaluation, path: Path) -> None:
    figure = _figure()
    axes = figure.add_subplot()
    has_both = 0 < evaluation.y.sum() < evaluation.y.size
    for name, score in evaluation.scores.items():
        if not has_both:
            break
        fpr, tpr, _ = roc_curve(evaluation.y, np.nan_to_num(score, nan=-1e300))
        auc = evaluation.table[name]["roc_auc"]
        axes.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})", **_styles(name))  # type: ignore[arg-type]
    axes.plot([0, 1], [0, 1], color="grey", linewidth=0.5)
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test onset rows)")
    if not has_both:
        axes.text(0.5, 0.5, "undefined: one class only", ha="center")
    else:
        axes.legend(loc="lower right", fontsize=8)
    figure.savefig(path)


def _pr(evaluation: Evaluation, path: Path) -> None:
    figure = _figure()
    axes = figure.add_subplot()
    if evaluation.y.sum():
        for name, score in evaluation.scores.items():
            precision, recall, _ = precision_recall_curve(evaluation.y, np.nan_to_num(score, nan=-1e300))
            ap = evaluation.table[name]["pr_auc"]
            axes.plot(recall, precision, label=f"{name} (AP {ap:.3f})", **_styles(name))  # type: ignore[arg-type]
        axes.axhline(evaluation.y.mean(), color="grey", linewidth=0.5, label="base rate")
        axes.legend(loc="upper right", fontsize=8)
    else:
        axes.text(0.5, 0.5, "undefined: no positive rows", ha="center")
    axes.set(xlabel="recall", ylabel="precision", title="Precision-recall (test onset rows)", ylim=(0, 1.02))
    figure.savefig(path)


def _calibration(evaluation: Evaluation, path: Path, models: Sequence[str]) -> None:
    figure = _figure()
    axes = figure.add_subplot()
    bins = np.linspace(0.0, 1.0, 11)
    for name in models:
        probability = evaluation.probabilities.get(name)
        if probability is None or probability.size == 0:
            continue
        index = np.clip(np.digitize(probability, bins) - 1, 0, bins.size - 2)
        counts = np.bincount(index, minlength=bins.size - 1)
        mean_p = np.bincount(index, probability, minlength=bins.size - 1)
        freq = np.bincount(index, evaluation.y.astype(float), minlength=bins.size - 1)
        used = counts > 0
        axes.plot(mean_p[used] / counts[used], freq[used] / counts[used], marker="o", label=name)
    axes.plot([0, 1], [0, 1], color="grey", linewidth=0.5, label="perfect")
    axes.set(xlabel="predicted probability", ylabel="observed frequency", title="Calibration (test)")
    axes.legend(loc="upper left", fontsize=8)
    figure.savefig(path)


def _any(values: NDArray[np.float64]) -> bool:
    return bool(np.any(~np.isnan(values)))


def _lead_times(evaluation: Evaluation, path: Path) -> None:
    figure = _figure()
    axes = figure.add_subplot()
    # Leads cannot exceed the horizon: the axis ends just past the longest one, not at a fixed hour.
    longest = max(
        (float(np.nanmax(v.lead_minutes)) for v in evaluation.leads.values() if _any(v.lead_minutes)),
        default=30.0,
    )
    edges = [float(e) for e in range(0, 2 * math.ceil(longest / 2) + 3, 2)]
    for name, leads in evaluation.leads.items():
        detected = leads.lead_minutes[~np.isnan(leads.lead_minutes)]
        summary = evaluation.table[name]
        median = summary.get("median_lead_time_minutes", math.nan)
        label = f"{name}: {detected.size}/{leads.lead_minutes.size} detected, median {median:.1f} min"
        axes.hist(detected, bins=edges, histtype="step", linewidth=1.5, label=label)
    axes.set(
        xlabel="lead time before exhaustion onset (minutes)", ylabel="episodes", title="Lead time (test)"
    )
    axes.legend(loc="upper left", fontsize=7)
    figure.savefig(path)


def _importance(names: Sequence[str], importance: NDArray[np.float64], path: Path, top: int = 25) -> None:
    order = np.argsort(importance)[::-1][:top][::-1]
    figure = _figure(7.0, max(3.0, 0.28 * order.size + 1))
    axes = figure.add_subplot()
    total = float(importance.sum()) or 1.0
    axes.barh([names[i] for i in order], importance[order] / total)
    axes.set(xlabel="share of total gain", title="LightGBM feature importance (gain)")
    axes.tick_params(axis="y", labelsize=7)
    figure.savefig(path)


def write_plots(
    evaluation: Evaluation,
    directory: Path,
    *,
    models: Sequence[str] = ("lightgbm", "random_forest"),
    feature_names: Sequence[str] | None = None,
    importance: NDArray[np.float64] | None = None,
) -> dict[str, Path]:
    """Write every plot into ``directory``.

    Args:
        evaluation: Test metrics, scores and lead times.
        directory: Output directory (created).
        models: Predictors shown on the calibration plot.
        feature_names: Feature names, for the importance plot.
        importance: Gain per feature (omit to skip the importance plot).

    Returns:
        Plot -> path written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = {key: directory / name for key, name in PLOT_FILES.items()}
    _roc(evaluation, paths["roc"])
    _pr(evaluation, paths["pr"])
    _calibration(evaluation, paths["calibration"], models)
    _lead_times(evaluation, paths["lead_time"])
    if importance is not None and feature_names is not None and importance.size:
        _importance(feature_names, np.asarray(importance, dtype=np.float64), paths["importance"])
    else:
        del paths["importance"]
    return paths
