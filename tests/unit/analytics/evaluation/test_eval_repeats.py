"""Metrics over repeated splits: mean, spread and range, with undefined values left out."""

from __future__ import annotations

import math

import pytest
from rich.console import Console

from analytics.evaluation.repeats import print_repeats, repeat_metrics, summarise_repeats


def _table(precision: float, recall: float, lead: float = math.nan) -> dict[str, dict[str, float]]:
    return {"lightgbm": {"precision": precision, "recall": recall, "median_lead_time_minutes": lead}}


def test_statistics_over_the_splits():
    summary = summarise_repeats([_table(0.8, 0.9, 20.0), _table(0.9, 0.7, 30.0), _table(0.7, 0.8)], [0, 1, 2])
    row = summary["lightgbm"]
    assert row["splits"] == 3 and row["seeds"] == [0, 1, 2]
    precision = row["precision"]
    assert precision["mean"] == pytest.approx(0.8)
    assert precision["sd"] == pytest.approx(0.1)  # sample standard deviation
    assert (precision["min"], precision["max"], precision["n"]) == (0.7, 0.9, 3)
    lead = row["median_lead_time_minutes"]  # undefined in one split: left out, and counted
    assert lead["mean"] == pytest.approx(25.0) and lead["n"] == 2 and math.isnan(lead["values"][2])
    auc = row["roc_auc"]  # absent everywhere
    assert auc["n"] == 0 and math.isnan(auc["mean"]) and math.isnan(auc["sd"])


def test_one_defined_value_has_no_spread_and_mlflow_gets_defined_values_only():
    summary = summarise_repeats([_table(0.8, 0.9), _table(math.nan, 0.7)], [5, 6])
    precision = summary["lightgbm"]["precision"]
    assert precision["mean"] == 0.8 and math.isnan(precision["sd"])
    metrics = repeat_metrics(summary)
    assert metrics["repeats.lightgbm.precision.mean"] == 0.8
    assert "repeats.lightgbm.precision.sd" not in metrics
    assert metrics["repeats.lightgbm.recall.sd"] == pytest.approx(math.sqrt(0.02))
    assert not any(k.startswith("repeats.lightgbm.roc_auc") for k in metrics)


def test_tables_and_seeds_must_pair_up():
    with pytest.raises(ValueError, match="2 tables but 1 seeds"):
        summarise_repeats([_table(0.8, 0.9), _table(0.7, 0.8)], [0])


def test_printed_summary_shows_mean_spread_and_range():
    console = Console(width=200, record=True)
    print_repeats(console, summarise_repeats([_table(0.8, 0.9, 20.0), _table(0.9, 0.7, 30.0)], [0, 1]))
    text = console.export_text()
    assert "over 2 fleet splits (seeds 0, 1)" in text
    assert "0.850 ± 0.071 (0.800..0.900)" in text
    assert "25.0 ± 7.1 (20.0..30.0)" in text
    assert "n/a" in text  # ROC-AUC was never given
