"""Backtest core and evaluate's scoring, without Spark (featured rows from the synthetic fleet)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import FEATURES, make_featured_fleet

from analytics.evaluation.evaluate_command import score_dataset
from analytics.evaluation.metrics import METRIC_NAMES
from analytics.serving import load_bundle
from analytics.settings import LabelSettings, Settings
from analytics.training.bundle import write_bundle
from analytics.training.data import from_frame

PREDICTORS = ["lightgbm", "random_forest", "static_threshold", "predict_linear"]


def _data(n_hosts: int, days: float, seed: int = 1):
    frame = make_featured_fleet(n_hosts=n_hosts, days=days, seed=seed)
    return from_frame(frame, FEATURES, step_seconds=60, feature_set_version="test-1", label=LabelSettings())


def test_backtest_on_few_hosts_splits_each_host_in_time():
    from analytics.evaluation.backtest_command import backtest

    data = _data(n_hosts=2, days=3.0)
    result = backtest(data, Settings(), scheme="host-time", trials=2, seed=0, show_progress=False)
    assert not isinstance(result, str)
    split = result.split
    host, ts = data.column("host_id"), data.column("timestamp")
    for name in np.unique(host):
        mine = host == name
        assert ts[split.train & mine].max() + data.horizon_seconds <= ts[split.test & mine].min()
    assert list(result.evaluation.table) == [
        "lightgbm",
        "random_forest",
        "static_threshold",
        "predict_linear",
    ]


def test_backtest_refuses_an_impossible_split_with_a_reason():
    from analytics.evaluation.backtest_command import backtest

    data = _data(n_hosts=2, days=1.0)
    reason = backtest(data, Settings(), scheme="day", trials=2, show_progress=False)
    assert isinstance(reason, str) and "3 distinct days" in reason


def test_evaluate_scores_model_and_baselines_on_the_same_rows(trained, tmp_path):
    bundle = write_bundle(trained.result, tmp_path / "bundle")
    predictor = load_bundle(bundle)
    data = _data(n_hosts=4, days=1.0, seed=7)  # a fleet the model never saw
    evaluation = score_dataset(data, predictor)
    assert list(evaluation.table) == ["lightgbm", "static_threshold", "predict_linear"]
    onset_rows = int((data.frame["exhausted"] == 0).sum())
    for name, metrics in evaluation.table.items():
        assert set(METRIC_NAMES) <= set(metrics), name
        assert metrics["rows"] == onset_rows
    # baselines use the thresholds chosen on the model's validation period, not this data
    spec = predictor.spec
    assert (
        evaluation.table["static_threshold"]["threshold"] == spec.baselines["static_threshold"]["threshold"]
    )
    assert evaluation.table["lightgbm"]["threshold"] == spec.threshold


def test_evaluate_tolerates_missing_feature_columns(trained, tmp_path):
    predictor = load_bundle(write_bundle(trained.result, tmp_path / "bundle"))
    data = _data(n_hosts=3, days=1.0, seed=3)
    data.frame = data.frame.drop(columns=["disk_util", "disk_util_now", "disk_util_slope_30m"])
    evaluation = score_dataset(data, predictor)
    assert not math.isnan(evaluation.table["lightgbm"]["alarm_rate"])


def test_evaluate_scores_in_chunks_with_the_same_result(trained, tmp_path, monkeypatch):
    from analytics.evaluation import evaluate_command

    predictor = load_bundle(write_bundle(trained.result, tmp_path / "bundle"))
    data = _data(n_hosts=3, days=1.0, seed=5)
    data.frame = data.frame.drop(columns=["disk_util_slope_30m"])  # absent: missing in every chunk
    whole = evaluate_command._predict(predictor, data.frame)
    monkeypatch.setattr(evaluate_command, "SCORING_CHUNK_ROWS", 1000)
    chunked = evaluate_command._predict(predictor, data.frame)
    assert len(data.frame) > 3000 and len(chunked) == len(data.frame)
    np.testing.assert_array_equal(chunked, whole)
    names = predictor.spec.feature_names
    reference = [data.frame[n].to_numpy(dtype=np.float64) if n in data.frame else np.nan for n in names]
    x = np.column_stack([np.broadcast_to(c, len(data.frame)) for c in reference])
    np.testing.assert_array_equal(chunked, predictor.predict(x))


def test_load_bundle_refuses_a_directory_without_a_model(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_bundle(tmp_path)
