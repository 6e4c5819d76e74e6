"""generate -> etl -> train (2 trials) -> evaluate, on a small simulated fleet, asserting the contracts.

One trained model is shared by every test of this module (the expensive part runs once).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from analytics.evaluation.metrics import METRIC_NAMES, choose_threshold
from analytics.settings import Settings

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PREDICTORS = ["lightgbm", "random_forest", "static_threshold", "predict_linear"]


@dataclass
class Pipeline:
    """What the module fixture built."""

    root: Path
    settings: Settings
    lake: Path
    features: Path
    outcome: Any


def _lake_to_file(lake: Path, out: Path) -> Path:
    table = ds.dataset(str(lake / "telemetry"), format="parquet", partitioning="hive").to_table()
    pq.write_table(table.drop_columns(["date"]) if "date" in table.column_names else table, out)
    return out


def _evaluate_args(dataset: Path, **options: Any) -> argparse.Namespace:
    """``cloudsense evaluate`` options: the champion, no JSON or plots, unless ``options`` say otherwise."""
    defaults: dict[str, Any] = {
        "model": "champion",
        "json": None,
        "plots": None,
        "master": None,
        "column": [],
        "max_rows": None,
        "sample_hosts": None,
    }
    return argparse.Namespace(dataset=dataset, **(defaults | options))


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, spark) -> Pipeline:
    from analytics.etl import run_etl
    from analytics.generate.fleet import GenerateSpec, generate
    from analytics.training.command import train

    root = tmp_path_factory.mktemp("pipeline")
    settings = Settings(
        data_dir=root / "state",
        mlflow={"tracking_uri": f"sqlite:///{root}/mlflow.db", "artifact_location": (root / "art").as_uri()},
        spark={"master": "local[1]"},
    )
    lake = root / "lake"
    generate(GenerateSpec(out=lake, hosts=30, days=3.0, seed=0))
    run_etl(spark, lake, root / "features", settings)
    outcome = train(root / "features", settings, trials=2, seed=0, show_progress=False)
    return Pipeline(root, settings, lake, root / "features", outcome)


def test_split_is_forward_in_time_and_host_grouped(pipeline: Pipeline):
    result = pipeline.outcome.result
    split, data = result.split, result.data
    host, ts = data.column("host_id"), data.column("timestamp")
    groups = [set(host[m]) for m in (split.train, split.validation, split.test)]
    assert all(groups) and not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    h = data.horizon_seconds
    assert ts[split.train].max() + h <= ts[split.validation].min()
    assert ts[split.validation].max() + h <= ts[split.test].min()


def test_threshold_comes_from_validation(pipeline: Pipeline):
    result = pipeline.outcome.result
    for fit in result.models.values():
        expected, _ = choose_threshold(result.validation_labels, fit.validation_probability, default=0.5)
        assert fit.threshold == expected


def test_registry_and_artifacts(pipeline: Pipeline):
    from mlflow import MlflowClient

    record = pipeline.outcome.record
    assert record is not None and set(record.aliases) == {"challenger", "champion"}
    uri = pipeline.settings.mlflow_tracking_uri()
    client = MlflowClient(tracking_uri=uri)
    name = pipeline.settings.mlflow.model_name
    assert str(client.get_model_version_by_alias(name, "challenger").version) == record.version
    logged = {a.path for a in client.list_artifacts(record.run_id)}
    expected = {
        "roc_curve.png",
        "pr_curve.png",
        "calibration.png",
        "lead_time_hist.png",
        "feature_importance.png",
    }
    assert expected | {"model_card.md", "metrics.json"} <= logged


def test_serving_by_alias_matches_training(pipeline: Pipeline, tmp_path: Path):
    from analytics.features import FEATURE_NAMES
    from analytics.serving import load_registered
    from analytics.training.calibration import apply_calibration

    result = pipeline.outcome.result
    predictor = load_registered(
        pipeline.settings.mlflow_tracking_uri(), pipeline.settings.mlflow.model_name, "champion", dst=tmp_path
    )
    assert predictor.feature_names == tuple(FEATURE_NAMES)
    x = result.data.matrix(result.split.test)
    fit = result.models["lightgbm"]
    np.testing.assert_allclose(predictor.predict(x), apply_calibration(fit.calibration, fit.model.predict(x)))


_FRESH_LOAD = """
import sys
from analytics.serving import load_registered
predictor = load_registered(sys.argv[1], sys.argv[2], "champion", dst=sys.argv[3])
print(len(predictor.feature_names), "pyspark" in sys.modules)
"""


def test_a_fresh_process_loads_the_champion_without_spark_or_litter(pipeline: Pipeline, tmp_path: Path):
    # What the control plane does at start: a new process, its own working directory. MLflow's default
    # store would leave ./mlflow.db there (seen with a store made by `cloudsense train`).
    import subprocess
    import sys

    from analytics.features import FEATURE_NAMES

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    settings = pipeline.settings
    args = [settings.mlflow_tracking_uri(), settings.mlflow.model_name, str(tmp_path / "model")]
    done = subprocess.run(
        [sys.executable, "-c", _FRESH_LOAD, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == [str(len(FEATURE_NAMES)), "False"]
    assert list(cwd.iterdir()) == []


def test_no_feature_uses_the_future(pipeline: Pipeline, spark):
    """Features recomputed on a truncated history equal the full run's features up to the cut."""
    from analytics.etl import build_feature_frame
    from analytics.features import FEATURE_NAMES

    raw = pd.read_parquet(_lake_to_file(pipeline.lake, pipeline.root / "raw.parquet"))
    hosts = sorted(raw["host_id"].unique())[:2]
    raw = raw[raw["host_id"].isin(hosts)]
    cut = int(raw["timestamp"].quantile(0.5))
    full_frame = build_feature_frame(spark.createDataFrame(raw), pipeline.settings.label)
    cut_frame = build_feature_frame(
        spark.createDataFrame(raw[raw["timestamp"] <= cut]), pipeline.settings.label
    )
    columns = ["host_id", "timestamp", *FEATURE_NAMES]
    full = full_frame.frame.where(f"timestamp <= {cut}").select(*columns).toPandas()
    part = cut_frame.frame.select(*columns).toPandas()
    full = full.sort_values(["host_id", "timestamp"]).reset_index(drop=True)
    part = part.sort_values(["host_id", "timestamp"]).reset_index(drop=True)
    assert len(full) == len(part) > 0
    pd.testing.assert_frame_equal(full, part, check_exact=False, rtol=1e-9, atol=1e-9)


def test_evaluate_on_another_fleet(pipeline: Pipeline, tmp_path: Path, spark, capsys):
    from analytics.evaluation import evaluate_command
    from analytics.generate.fleet import GenerateSpec, generate

    other = tmp_path / "other"
    generate(GenerateSpec(out=other, hosts=6, days=1.0, seed=11))
    # as another fleet's export might be: CSV, timestamps in milliseconds, its own names and units
    frame = pd.read_parquet(_lake_to_file(other, tmp_path / "other.parquet"))
    dataset = tmp_path / "other.csv"
    exported = frame.assign(timestamp=frame["timestamp"] * 1000, cpu_util=frame["cpu_util"] / 100)
    exported.rename(columns={"host_id": "machine", "cpu_util": "cpu fraction"}).to_csv(dataset, index=False)
    out = tmp_path / "table.json"
    column = [("host_id", "machine"), ("cpu_util", "100 * `cpu fraction`")]
    args = _evaluate_args(dataset, json=out, plots=tmp_path / "plots", column=column)
    assert evaluate_command.run(args, pipeline.settings) == 0
    printed = capsys.readouterr().out
    assert f"rows read        {len(frame):,}" in printed
    assert f"converted to seconds from milliseconds={len(frame):,}" in printed and "WARNING" not in printed
    assert "column           cpu_util = 100 * `cpu fraction`" in printed
    table = json.loads(out.read_text())
    assert list(table) == ["lightgbm", "static_threshold", "predict_linear"]
    for metrics in table.values():
        assert set(METRIC_NAMES) <= set(metrics)
        assert metrics["rows"] > 0
    assert (tmp_path / "plots" / "roc_curve.png").is_file()
    assert not math.isnan(table["lightgbm"]["alarm_rate"])


def test_evaluate_refuses_an_unknown_model_or_bundle_with_a_message(
    pipeline: Pipeline, tmp_path: Path, capsys
):
    from analytics.evaluation import evaluate_command

    dataset = tmp_path / "never-read.parquet"  # the model is looked up first
    assert evaluate_command.run(_evaluate_args(dataset, model="nosuch"), pipeline.settings) == 2
    printed = capsys.readouterr().out
    assert "cannot evaluate" in printed and "has the alias 'nosuch'" in printed
    assert "Traceback" not in printed
    missing = tmp_path / "no-bundle"
    assert evaluate_command.run(_evaluate_args(dataset, model=str(missing)), pipeline.settings) == 2
    assert f"--model {missing}: not a serving-bundle directory" in capsys.readouterr().out


def test_evaluate_warns_when_the_dataset_is_coarser_than_the_model(
    pipeline: Pipeline, tmp_path: Path, capsys
):
    """A 60 s model on 300 s data: the ETL forward-fills four rows in five to the model's step; the output
    says the model's scores mean little there, and that backtest is the way to judge such data."""
    from analytics.evaluation import evaluate_command
    from analytics.generate.fleet import GenerateSpec, generate

    generate(GenerateSpec(out=tmp_path / "coarse", hosts=3, days=1.0, interval=300, seed=5))
    dataset = _lake_to_file(tmp_path / "coarse", tmp_path / "coarse.parquet")
    args = _evaluate_args(dataset)
    assert evaluate_command.run(args, pipeline.settings) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "WARNING the dataset is sampled every 300 s, the model every 60 s: 80% of the rows" in printed
    assert "'cloudsense backtest' trains and scores at the dataset's own step" in printed


def test_evaluate_featurises_only_the_hosts_its_memory_can_hold(
    pipeline: Pipeline, tmp_path: Path, spark, capsys, monkeypatch
):
    """Little memory available: the ETL already takes the seeded sample of whole hosts that the loader
    after it can hold (no host featurised only to be left out), and the output says so."""
    import collections

    import psutil

    from analytics.etl.labels import label_columns
    from analytics.evaluation import evaluate_command
    from analytics.features import FEATURE_NAMES
    from analytics.generate.fleet import GenerateSpec, generate
    from analytics.sampling import take_hosts
    from analytics.training.data import MEMORY_SHARE, PEAK_BYTES_PER_VALUE

    generate(GenerateSpec(out=tmp_path / "other", hosts=6, days=1.0, seed=11))
    dataset = _lake_to_file(tmp_path / "other", tmp_path / "other.parquet")
    rows = pd.read_parquet(dataset, columns=["host_id"])["host_id"].value_counts()
    per_host = {str(h): int(n) for h, n in rows.items()}
    budget = sum(sorted(per_host.values())[:3]) + 50  # three hosts or so, of six
    columns = 2 + len(FEATURE_NAMES) + len(label_columns(pipeline.settings.label.resources))
    available = math.ceil(budget * PEAK_BYTES_PER_VALUE * columns / MEMORY_SHARE)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: collections.namedtuple("m", "available")(available))
    out = tmp_path / "table.json"
    args = _evaluate_args(dataset, json=out)
    assert evaluate_command.run(args, pipeline.settings) == 0
    printed = " ".join(capsys.readouterr().out.split())
    kept = take_hosts(per_host, pipeline.settings.training.seed, max_rows=budget - 1)
    assert 1 <= len(kept) < 6
    line = (
        f"sampled hosts {len(kept)} of 6 (seed {pipeline.settings.training.seed}; "
        f"{sum(per_host[h] for h in kept):,} of {sum(per_host.values()):,} input rows, about what the "
        "memory available can hold (--max-rows all featurises every host)"
    )
    assert line in printed
    assert f"rows read {sum(per_host[h] for h in kept):,}" in printed
    assert "a random sample of" not in printed  # the loader found the featured rows within its budget
    assert json.loads(out.read_text())["lightgbm"]["rows"] > 0


def test_the_simulators_yardstick_labels_as_the_etl_does(pipeline: Pipeline):
    """``analytics.generate.labels`` (pandas, used to calibrate the simulator) is a second implementation of
    the label rule: held equal to the ETL's labels on the same lake, so the simulator is tuned against the
    labels that the models are trained and scored on."""
    from analytics.generate.labels import derive_labels

    label = pipeline.settings.label
    raw = pd.read_parquet(_lake_to_file(pipeline.lake, pipeline.root / "raw-labels.parquet"))
    raw = raw.sort_values(["host_id", "timestamp"]).reset_index(drop=True)
    for resource in label.resources:  # the ETL clips utilisation to 0..100 first
        raw[resource] = raw[resource].clip(0.0, 100.0)
    ours = derive_labels(raw, label, step=60)
    columns = ["host_id", "timestamp", "label", "exhausted", *[f"exhausted_{r}" for r in label.resources]]
    etl = ds.dataset(str(pipeline.features / "data"), format="parquet", partitioning="hive")
    theirs = etl.to_table(columns=columns).to_pandas()
    both = ours.merge(theirs, on=["host_id", "timestamp"], how="inner", suffixes=("_pd", ""))
    assert len(both) == len(ours) == len(theirs)
    assert both["exhausted"].sum() > 0 and both["label"].sum() > 0
    # The label is read on onset rows only (exhausted rows are never fitted on or scored); inside an episode
    # the ETL still says whether the next one starts within the horizon, the yardstick says 0.
    onset = both["exhausted"].to_numpy() == 0
    got, want = both["positive"].to_numpy()[onset], both["label"].to_numpy()[onset].astype(bool)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(both["exhausted_pd"].to_numpy(), both["exhausted"].to_numpy().astype(bool))
    for r in label.resources:
        got, want = both[f"exhausted_{r}_pd"].to_numpy(), both[f"exhausted_{r}"].to_numpy().astype(bool)
        np.testing.assert_array_equal(got, want, err_msg=r)
