"""The same test metrics over several fleet splits: how much of a run's figure is the split's luck.

A fleet's test period holds a fifth of its hosts, and which hosts those are moves precision and recall by
several points (measured on the simulated fleet: F1 from 0.78 to 0.87 over six split seeds, one dataset, one
parameter set). ``cloudsense train --repeats K`` trains and scores K splits (seeds ``seed .. seed+K-1``) and
reports each metric's mean, standard deviation, minimum and maximum across them, beside the first split's
table. Each split is tuned, calibrated and thresholded on its own validation period, as a single run is.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.table import Table

from analytics.evaluation.metrics import METRIC_NAMES
from analytics.evaluation.report import HEADERS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from rich.console import Console

__all__ = ["SUMMARY_METRICS", "print_repeats", "repeat_metrics", "summarise_repeats"]

SUMMARY_METRICS = ("roc_auc", "pr_auc", "precision", "recall", "f1", "brier", "median_lead_time_minutes")
"""Metrics the printed summary shows (the JSON and MLflow get every metric)."""
STATISTICS = ("mean", "sd", "min", "max")


def summarise_repeats(
    tables: Sequence[Mapping[str, Mapping[str, Any]]], seeds: Sequence[int]
) -> dict[str, dict[str, Any]]:
    """Per predictor and metric: mean, sample standard deviation, min, max and the values, over the splits.

    Args:
        tables: One test table (predictor -> metric -> value) per split.
        seeds: The split seed of each table.

    Returns:
        ``{predictor: {"splits": n, "seeds": [...], metric: {"mean", "sd", "min", "max", "values"}}}``;
        a split where a metric is undefined (NaN) is left out of that metric's statistics, and ``n`` counts
        the splits where it is defined.
    """
    if len(tables) != len(seeds):
        raise ValueError(f"{len(tables)} tables but {len(seeds)} seeds")
    predictors = list(dict.fromkeys(name for table in tables for name in table))
    out: dict[str, dict[str, Any]] = {}
    for name in predictors:
        row: dict[str, Any] = {"splits": len(tables), "seeds": list(seeds)}
        for metric in METRIC_NAMES:
            values = [_number(table.get(name, {}).get(metric)) for table in tables]
            defined = np.array([v for v in values if not math.isnan(v)], dtype=np.float64)
            stats = dict.fromkeys(STATISTICS, math.nan)
            if defined.size:
                stats = {
                    "mean": float(defined.mean()),
                    "sd": float(defined.std(ddof=1)) if defined.size > 1 else math.nan,
                    "min": float(defined.min()),
                    "max": float(defined.max()),
                }
            row[metric] = stats | {"n": int(defined.size), "values": values}
        out[name] = row
    return out


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _cell(metric: str, stats: Mapping[str, Any]) -> str:
    mean, sd, low, high = (stats[k] for k in STATISTICS)
    if math.isnan(mean):
        return "n/a"
    digits = 1 if metric == "median_lead_time_minutes" else 3
    spread = "" if math.isnan(sd) else f" ± {sd:.{digits}f}"
    return f"{mean:.{digits}f}{spread} ({low:.{digits}f}..{high:.{digits}f})"


def print_repeats(console: Console, summary: Mapping[str, Mapping[str, Any]]) -> None:
    """Print mean ± sd (min..max) of the main metrics per predictor."""
    if not summary:
        return
    first = next(iter(summary.values()))
    seeds = ", ".join(str(s) for s in first["seeds"])
    table = Table(
        title=f"test metrics over {first['splits']} fleet splits (seeds {seeds}): mean ± sd (min..max)",
        title_justify="left",
    )
    table.add_column("predictor", style="bold")
    for metric in SUMMARY_METRICS:
        table.add_column(HEADERS[metric], justify="right")
    for name, row in summary.items():
        table.add_row(name, *(_cell(m, row[m]) for m in SUMMARY_METRICS))
    console.print(table)


def repeat_metrics(summary: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """``repeats.<predictor>.<metric>.mean`` and ``.sd`` for MLflow (defined values only)."""
    out: dict[str, float] = {}
    for name, row in summary.items():
        for metric in METRIC_NAMES:
            for stat in ("mean", "sd"):
                value = row[metric][stat]
                if not math.isnan(value):
                    out[f"repeats.{name}.{metric}.{stat}"] = value
    return out
