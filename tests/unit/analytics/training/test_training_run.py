"""A whole training run on a synthetic featured fleet: contracts, not lucky numbers."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analytics.evaluation.metrics import METRIC_NAMES, choose_threshold
from analytics.training.calibration import apply_calibration
from analytics.training.split import check_split

PREDICTORS = ["lightgbm", "random_forest", "static_threshold", "predict_linear"]


def test_split_is_checked_fleet_split(trained):
    result = trained.result
    data, split = result.data, result.split
    assert split.scheme == "fleet"
    host, ts = data.column("host_id"), data.column("timestamp")
    check_split(host, ts, split, horizon_seconds=data.horizon_seconds)  # raises on any leak
    assert not set(host[split.train]) & set(host[split.test])
    assert ts[split.train].max() < ts[split.validation].min() < ts[split.test].min()


def test_threshold_is_the_validation_optimum_not_the_test_one(trained):
    result = trained.result
    fit = result.models["lightgbm"]
    frame = result.data.frame
    validation = result.split.validation & (frame["exhausted"].to_numpy() == 0)
    # the stored validation probabilities are the model's calibrated output on validation onset rows ...
    raw = fit.model.predict(result.data.matrix(validation))
    np.testing.assert_allclose(fit.validation_probability, apply_calibration(fit.calibration, raw))
    # ... and the threshold is exactly the max-F1 threshold on them
    expected, _ = choose_threshold(result.validation_labels, fit.validation_probability, default=0.5)
    assert fit.threshold == expected
    for name, params in result.baselines.params.items():
        score = result.baselines.scores[name][validation]
        assert params["threshold"] == choose_threshold(result.validation_labels, score, default=-1)[0]


def test_table_has_every_predictor_and_metric(trained):
    table = trained.result.evaluation.table
    assert list(table) == PREDICTORS
    rows = {m["rows"] for m in table.values()}
    assert len(rows) == 1  # all scored on the same rows
    for metrics in table.values():
        assert set(METRIC_NAMES) <= set(metrics)
        assert 0 <= metrics["alarm_rate"] <= 1
    assert table["lightgbm"]["roc_auc"] > 0.5  # better than chance: the pipeline is wired right


def test_registry_first_model_is_challenger_and_champion(trained, train_settings):
    from mlflow import MlflowClient

    record = trained.record
    assert record.version == "1" and set(record.aliases) == {"challenger", "champion"}
    client = MlflowClient(tracking_uri=train_settings.mlflow_tracking_uri())
    name = train_settings.mlflow.model_name
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"


def test_artifacts_are_logged(trained, train_settings):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=train_settings.mlflow_tracking_uri())
    run_id = trained.record.run_id
    top = {a.path for a in client.list_artifacts(run_id)}
    for name in (
        "roc_curve.png",
        "pr_curve.png",
        "calibration.png",
        "lead_time_hist.png",
        "feature_importance.png",
        "model_card.md",
        "metrics.json",
        "breakdown.json",
    ):
        assert name in top, name
    card = Path(client.download_artifacts(run_id, "model_card.md")).read_text()
    assert "## Split" in card and "predict_linear" in card and "## Limitations" in card
    metrics = json.loads(Path(client.download_artifacts(run_id, "metrics.json")).read_text())
    assert list(metrics) == PREDICTORS
    run = client.get_run(run_id)
    assert "test.lightgbm.roc_auc" in run.data.metrics
    assert run.data.params["split_scheme"] == "fleet"
    version = client.get_model_version(train_settings.mlflow.model_name, trained.record.version)
    assert version.run_id == run_id


def test_registered_model_holds_the_bundle_signature_and_example(trained, train_settings, tmp_path):
    from mlflow.artifacts import download_artifacts

    from analytics.mlflow_store import using_store

    uri = f"models:/{train_settings.mlflow.model_name}/{trained.record.version}"
    store = train_settings.mlflow_tracking_uri()
    with using_store(store):  # models:/ resolves through the process-wide registry URI only
        local = Path(download_artifacts(artifact_uri=uri, dst_path=str(tmp_path), tracking_uri=store))
    bundle = local / "artifacts" / "bundle"
    for name in ("bundle.json", "model.txt"):
        assert (bundle / name).is_file(), name
    spec = json.loads((bundle / "bundle.json").read_text())
    assert spec["feature_names"] == trained.result.data.feature_names
    assert spec["threshold"] == trained.result.models["lightgbm"].threshold
    mlmodel = (local / "MLmodel").read_text()
    assert "signature:" in mlmodel and "input_example" in mlmodel


def test_serving_round_trip_by_alias(trained, train_settings, tmp_path):
    from analytics.serving import load_registered

    result = trained.result
    predictor = load_registered(
        train_settings.mlflow_tracking_uri(), train_settings.mlflow.model_name, "champion", dst=tmp_path
    )
    fit = result.models["lightgbm"]
    x = result.data.matrix(result.split.test)
    expected = apply_calibration(fit.calibration, fit.model.predict(x))
    np.testing.assert_allclose(predictor.predict(x), expected, rtol=0, atol=1e-12)
    assert predictor.threshold == fit.threshold
    assert list(predictor.feature_names) == result.data.feature_names
    assert (
        predictor.spec.baselines["static_threshold"]["threshold"]
        == result.baselines.params["static_threshold"]["threshold"]
    )
    one = predictor.predict(x[0])
    assert one.shape == (1,) and one[0] == pytest.approx(expected[0])
    why = predictor.explain(x[:2], top=3)
    assert len(why) == 2 and len(why[0]) == 3
    assert {e.feature for e in why[0]} <= set(result.data.feature_names)
    tte = predictor.tte(x[:4])
    for resource, seconds in tte.items():
        assert seconds.shape == (4, 3) and np.all(np.diff(seconds, axis=1) >= 0), resource
        assert np.all((seconds >= 0) & (seconds <= result.data.horizon_seconds))


def test_registry_lookup_of_an_unknown_model_or_alias_says_so(trained, train_settings, tmp_path):
    from analytics.serving import ModelNotFoundError, load_registered, resolve_version

    store, name = train_settings.mlflow_tracking_uri(), train_settings.mlflow.model_name
    with pytest.raises(ModelNotFoundError, match=r"has the alias 'nosuch'.*'cloudsense train' registers one"):
        load_registered(store, name, "nosuch", dst=tmp_path)
    with pytest.raises(ModelNotFoundError, match="no model version of 'no-such-model'"):
        load_registered(store, "no-such-model", "champion", dst=tmp_path)
    with pytest.raises(ModelNotFoundError, match="has the alias 'nosuch'"):
        resolve_version(store, name, "nosuch")
    assert resolve_version(store, name, "champion").isdigit()


def test_second_model_is_only_challenger_and_the_study_resumes(trained, features_dir, train_settings):
    from mlflow import MlflowClient

    from analytics.training.command import train

    again = train(features_dir, train_settings, trials=2, seed=0, show_progress=False)
    assert again.record.version == "2" and again.record.aliases == ("challenger",)
    client = MlflowClient(tracking_uri=train_settings.mlflow_tracking_uri())
    name = train_settings.mlflow.model_name
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    assert str(client.get_model_version_by_alias(name, "challenger").version) == "2"
    study = again.result.models["lightgbm"].study
    assert study.complete + study.pruned == 2  # resumed from storage: no new trial ran
    assert (train_settings.data_dir / "optuna.db").is_file()


def test_no_positive_rows_in_train_degrades_to_nan(featured_frame):
    from conftest import FEATURES

    from analytics.settings import LabelSettings
    from analytics.training.data import from_frame
    from analytics.training.pipeline import train_and_evaluate
    from analytics.training.split import make_split

    frame = featured_frame.copy()
    for column in [c for c in frame if c == "label" or c.startswith(("label_", "exhausted"))]:
        frame[column] = 0
    data = from_frame(frame, FEATURES, step_seconds=60, feature_set_version="t", label=LabelSettings())
    split = make_split(
        data.column("host_id"),
        data.column("timestamp"),
        scheme="fleet",
        train_fraction=0.6,
        validation_fraction=0.2,
        horizon_seconds=1800,
    )
    result = train_and_evaluate(
        data, split, trials=2, timeout=None, seed=0, storage=None, show_progress=False
    )
    assert not result.models
    assert list(result.evaluation.table)[:2] == ["lightgbm", "random_forest"]
    assert math.isnan(result.evaluation.table["lightgbm"]["roc_auc"])
    assert "no positive" in result.evaluation.table["lightgbm"]["note"]
    assert math.isnan(result.evaluation.table["static_threshold"]["recall"])
    assert any("train" in note for note in result.notes)


def test_importing_serving_pulls_no_heavy_dependency():
    code = (
        "import sys, analytics.serving; "
        "print(sorted(m for m in ('pandas', 'pyspark', 'mlflow', 'sklearn', 'lightgbm', 'optuna') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _train_args(features: Path, **overrides: object):
    import argparse

    base = {
        "features": features,
        "trials": 1,
        "timeout": None,
        "seed": 3,
        "split": "fleet",
        "repeats": None,
        "json": None,
        "repeats_json": None,
        "max_rows": None,
    }
    return argparse.Namespace(**(base | overrides))


def test_train_cli_refuses_bad_input_with_a_message(tmp_path, train_settings, capsys):
    from conftest import make_featured_fleet, write_features

    from analytics.training import command

    args = _train_args(tmp_path / "missing", trials=2, seed=0)
    assert command.run(args, train_settings) == 2
    assert "cannot train" in capsys.readouterr().out
    args.features = write_features(make_featured_fleet(n_hosts=2, days=1.0), tmp_path / "two-hosts")
    assert command.run(args, train_settings) == 2
    assert "3 hosts" in capsys.readouterr().out


def test_train_cli_repeats_reports_the_spread_over_fleet_splits(
    features_dir, own_store_settings, tmp_path, capsys
):
    """--repeats 2: two splits (seeds 3 and 4) scored; the first is registered and is the first value."""
    import mlflow
    from mlflow import MlflowClient

    from analytics.training import command

    settings = own_store_settings
    args = _train_args(
        features_dir, repeats=2, json=tmp_path / "table.json", repeats_json=tmp_path / "repeats.json"
    )
    process_wide = (
        mlflow.get_tracking_uri(),
        mlflow.get_registry_uri(),
        os.environ.get("MLFLOW_TRACKING_URI"),
    )
    assert command.run(args, settings) == 0
    assert (mlflow.get_tracking_uri(), mlflow.get_registry_uri(), os.environ.get("MLFLOW_TRACKING_URI")) == (
        process_wide
    )  # training logged to its own store without steering the rest of the process there
    out = capsys.readouterr().out
    assert "over 2 fleet splits (seeds 3, 4)" in out
    table = json.loads((tmp_path / "table.json").read_text())
    summary = json.loads((tmp_path / "repeats.json").read_text())
    assert list(summary) == list(table) == PREDICTORS
    for name in PREDICTORS:
        row = summary[name]
        assert row["splits"] == 2 and row["seeds"] == [3, 4]
        auc = row["roc_auc"]
        assert auc["values"][0] == table[name]["roc_auc"]  # the first split is the registered run's
        assert auc["min"] <= auc["mean"] <= auc["max"] and auc["n"] == 2
        assert auc["sd"] == pytest.approx(abs(auc["values"][0] - auc["values"][1]) / math.sqrt(2))
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri())
    version = client.get_model_version_by_alias(settings.mlflow.model_name, "champion")
    run = client.get_run(version.run_id)
    assert run.data.metrics["repeats.lightgbm.roc_auc.mean"] == pytest.approx(
        summary["lightgbm"]["roc_auc"]["mean"]
    )
    assert run.data.tags["repeats"] == "2"
    assert "repeats.json" in {a.path for a in client.list_artifacts(version.run_id)}


def test_train_cli_refuses_repeats_it_cannot_honour(features_dir, train_settings, capsys):
    from analytics.training import command

    assert command.run(_train_args(features_dir, repeats=0), train_settings) == 2
    assert "--repeats must be 1 or more" in capsys.readouterr().out
    assert command.run(_train_args(features_dir, repeats=2, split="host-time"), train_settings) == 2
    assert "only one arrangement" in capsys.readouterr().out


def test_few_validation_episodes_are_said_to_make_the_thresholds_fragile(trained):
    """The note appears exactly when the validation period has fewer than FEW_VALIDATION_EPISODES."""
    from analytics.evaluation.metrics import count_onsets
    from analytics.training.pipeline import FEW_VALIDATION_EPISODES

    result = trained.result
    validation = result.data.frame.loc[result.split.validation]
    episodes = count_onsets(validation["host_id"], validation["timestamp"], validation["exhausted"])
    assert episodes > 0
    noted = [n for n in result.notes if n.startswith("the alarm thresholds were chosen on")]
    assert bool(noted) == (episodes < FEW_VALIDATION_EPISODES)
    if noted:
        assert f"on {episodes} exhaustion episode(s)" in noted[0]
