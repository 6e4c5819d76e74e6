"""Scoring several predictors on the same rows, the JSON / Markdown tables, and the plots."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from analytics.evaluation.metrics import METRIC_NAMES
from analytics.evaluation.plots import PLOT_FILES, write_plots
from analytics.evaluation.report import markdown_table, print_table, write_json
from analytics.evaluation.scoring import baseline_output, evaluate, model_output


def _frame() -> pd.DataFrame:
    # one host, 60 s steps; an episode at rows 40..44; rows 10..39 are positive (onset within 30 min)
    n = 60
    exhausted = np.zeros(n, dtype=np.int8)
    exhausted[40:45] = 1
    label = np.zeros(n, dtype=np.int8)
    label[10:40] = 1
    return pd.DataFrame(
        {
            "host_id": "web-1",
            "timestamp": np.arange(n, dtype=np.int64) * 60,
            "label": label,
            "exhausted": exhausted,
            "exhausted_mem_util": exhausted,
            "label_mem_util": label,
        }
    )


def test_every_predictor_is_scored_on_the_same_onset_rows():
    frame = _frame()
    ramp = np.linspace(0, 1, len(frame))
    outputs = {
        "model": model_output(ramp, 0.3),  # alarms from row 18 on: 22 min before the onset
        "rule": baseline_output(ramp * 100, 101.0),  # never alarms
    }
    evaluation = evaluate(frame, outputs, horizon_seconds=1800, resources=("mem_util",))
    model, rule = evaluation.table["model"], evaluation.table["rule"]
    assert model["rows"] == rule["rows"] == 55  # the 5 exhausted rows are not onset examples
    assert model["median_lead_time_minutes"] == pytest.approx(40 - 18)
    assert (model["episodes_detected"], model["episodes_total"]) == (1, 1)
    assert rule["episodes_detected"] == 0 and math.isnan(rule["median_lead_time_minutes"])
    assert math.isnan(rule["precision"]) and rule["alarm_rate"] == 0.0
    assert evaluation.breakdown["by_resource"]["mem_util"]["episodes_detected"] == 1
    assert set(evaluation.breakdown["by_family"]) == {"web"}


def test_json_has_one_object_per_predictor_and_null_for_nan(tmp_path):
    table = {"a": dict.fromkeys(METRIC_NAMES, math.nan) | {"note": "why"}, "b": {"roc_auc": 0.5}}
    path = write_json(tmp_path / "t.json", table)
    loaded = json.loads(path.read_text())
    assert list(loaded) == ["a", "b"]
    assert loaded["a"]["roc_auc"] is None and loaded["a"]["note"] == "why"
    md = markdown_table(table)
    assert md.count("\n") == 3 and "n/a" in md
    console = Console(record=True, width=200)
    print_table(console, table, "t")
    assert "why" in console.export_text()


def test_plots_are_written(tmp_path):
    frame = _frame()
    ramp = np.linspace(0, 1, len(frame))
    evaluation = evaluate(
        frame,
        {"lightgbm": model_output(ramp, 0.3), "static_threshold": baseline_output(ramp * 90, 50)},
        horizon_seconds=1800,
    )
    paths = write_plots(evaluation, tmp_path, feature_names=["f1", "f2"], importance=np.array([3.0, 1.0]))
    assert set(paths) == set(PLOT_FILES)
    for path in paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_survive_a_split_without_positives(tmp_path):
    frame = _frame().assign(label=0, exhausted=0, exhausted_mem_util=0, label_mem_util=0)
    evaluation = evaluate(frame, {"lightgbm": model_output(np.zeros(len(frame)), 0.5)}, horizon_seconds=1800)
    paths = write_plots(evaluation, tmp_path)
    assert "importance" not in paths and paths["roc"].is_file()
