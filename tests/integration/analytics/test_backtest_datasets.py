"""``cloudsense backtest`` on real telemetry nobody here generated: NAB (300 s, single metric) and Nezha
(60 s pod-days, abrupt injected faults; split by day so no pod-day is in two periods).

The data live in ../shared/datasets (not in the repository); the tests skip with a clear message where
that folder is absent. They assert that the backtest runs and reports honestly (every predictor, every
metric, NaN with a reason where undefined), not a score: these sets are not benchmarks to tune on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from shared_data import dataset

from analytics.evaluation.metrics import METRIC_NAMES
from analytics.settings import Settings

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PREDICTORS = ["lightgbm", "random_forest", "static_threshold", "predict_linear"]


def _backtest(dataset: Path, split: str, tmp_path: Path) -> tuple[int, dict]:
    from analytics.evaluation import backtest_command

    settings = Settings(data_dir=tmp_path / "state", spark={"master": "local[1]"})
    out = tmp_path / "backtest.json"
    args = argparse.Namespace(
        dataset=dataset,
        json=out,
        trials=2,
        timeout=None,
        seed=0,
        split=split,
        plots=tmp_path / "plots",
        step=None,
        master=None,
        column=[],
        max_rows=None,
        sample_hosts=None,
    )
    code = backtest_command.run(args, settings)
    return code, json.loads(out.read_text())


def _check_table(table: dict) -> None:
    assert list(table) == PREDICTORS
    for name, metrics in table.items():
        assert set(METRIC_NAMES) <= set(metrics), name
        undefined = [k for k in ("roc_auc", "pr_auc", "recall") if metrics[k] is None]
        if undefined:
            assert metrics["note"], f"{name}: {undefined} undefined without a reason"


def test_backtest_nab(tmp_path: Path, spark):
    code, table = _backtest(dataset("nab_cloud_labeled.parquet"), "host-time", tmp_path)
    assert code == 0
    _check_table(table)
    assert table["static_threshold"]["rows"] > 0


def test_backtest_nezha_split_by_day(tmp_path: Path, spark):
    code, table = _backtest(dataset("nezha_pods_faults.parquet"), "day", tmp_path)
    assert code == 0
    _check_table(table)
    assert table["static_threshold"]["rows"] > 0
