"""A dataset larger than memory is loaded as a seeded random sample of whole hosts, and says so."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from analytics.settings import LabelSettings
from analytics.training.data import add_max_rows_argument, load_features, row_budget

ROWS_PER_HOST = 2880  # make_featured_fleet: 2 days at 60 s
HOSTS = 24


def _hosts(data) -> set[str]:
    return set(data.frame["host_id"].unique())


def test_a_dataset_within_the_budget_is_loaded_whole(features_dir):
    for max_rows in (0, HOSTS * ROWS_PER_HOST, None):  # no limit, exactly the size, the memory's budget
        data = load_features(features_dir, LabelSettings(), max_rows=max_rows)
        assert data.sample is None
        assert len(data.frame) == HOSTS * ROWS_PER_HOST


def test_a_larger_dataset_keeps_whole_hosts_within_the_budget(features_dir):
    budget = 5 * ROWS_PER_HOST + 100
    data = load_features(features_dir, LabelSettings(), max_rows=budget, seed=0)
    sample = data.sample
    assert sample is not None
    assert (sample.hosts, sample.of_hosts) == (5, HOSTS)
    assert (sample.rows, sample.of_rows, sample.max_rows, sample.seed, sample.automatic) == (
        5 * ROWS_PER_HOST,
        HOSTS * ROWS_PER_HOST,
        budget,
        0,
        False,
    )
    assert len(data.frame) == sample.rows
    assert data.frame.groupby("host_id").size().eq(ROWS_PER_HOST).all()  # every kept host whole
    assert sample.describe() == (
        "the featured dataset has 69,120 rows, more than --max-rows 14,500: a random sample of 5 of 24 hosts "
        "was loaded (14,400 rows, seed 0)"
    )
    # sorted by host and time like an unsampled load
    assert data.frame["host_id"].is_monotonic_increasing


def test_the_sample_is_the_seeds(features_dir):
    budget = 6 * ROWS_PER_HOST
    first = _hosts(load_features(features_dir, LabelSettings(), max_rows=budget, seed=0))
    again = _hosts(load_features(features_dir, LabelSettings(), max_rows=budget, seed=0))
    other = _hosts(load_features(features_dir, LabelSettings(), max_rows=budget, seed=1))
    assert first == again and len(first) == 6
    assert other != first and len(other) == 6
    # the order of analytics.sampling, which the ETL's --sample-hosts follows too
    from analytics.sampling import ranked_hosts

    every = _hosts(load_features(features_dir, LabelSettings(), max_rows=0))
    assert first == set(ranked_hosts(every, 0)[:6]) and other == set(ranked_hosts(every, 1)[:6])


def test_a_budget_below_one_host_still_loads_one_whole_host(features_dir):
    data = load_features(features_dir, LabelSettings(), max_rows=10)
    assert data.sample is not None and data.sample.hosts == 1
    assert len(data.frame) == ROWS_PER_HOST


def test_row_budget_is_the_available_memory_share_over_the_peak_per_row():
    # 16 bytes per value at the peak, 80 % of the available memory
    assert row_budget(100, available_bytes=16 * 100 * 1_000_000 * 10 // 8) == 1_000_000
    assert row_budget(90, available_bytes=1) == 1
    assert row_budget(90) > 0  # the system's own figure


def test_max_rows_option_reads_numbers_auto_and_all(capsys):
    parser = argparse.ArgumentParser(prog="cloudsense train")
    add_max_rows_argument(parser)
    assert parser.parse_args([]).max_rows is None
    assert parser.parse_args(["--max-rows", "auto"]).max_rows is None
    assert parser.parse_args(["--max-rows", "all"]).max_rows == 0
    assert parser.parse_args(["--max-rows", "2,000,000"]).max_rows == 2_000_000
    assert parser.parse_args(["--max-rows", "5_000"]).max_rows == 5000
    for bad in ("0", "-3", "lots"):
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(["--max-rows", bad])
        assert exited.value.code == 2
        assert "expected a number of rows (1 or more), 'auto' or 'all'" in capsys.readouterr().err


def test_train_cli_says_it_sampled_and_logs_the_sample(features_dir, own_store_settings, capsys):
    from mlflow import MlflowClient
    from test_training_run import _train_args

    from analytics.training import command

    settings = own_store_settings
    args = _train_args(features_dir, max_rows=18 * ROWS_PER_HOST)
    assert command.run(args, settings) == 0
    out = " ".join(capsys.readouterr().out.split())  # as words: the console wraps lines
    assert (
        "more than --max-rows 51,840: a random sample of 18 of 24 hosts was loaded (51,840 rows, seed 3)"
        in out
    )
    assert "the metrics are those of the sampled hosts (--max-rows all loads every host" in out
    client = MlflowClient(
        tracking_uri=settings.mlflow_tracking_uri(), registry_uri=settings.mlflow_tracking_uri()
    )
    version = client.get_model_version_by_alias(settings.mlflow.model_name, "champion")
    params = client.get_run(version.run_id).data.params
    assert (params["sample_hosts"], params["sample_of_hosts"], params["sample_rows"]) == ("18", "24", "51840")
    card = Path(client.download_artifacts(version.run_id, "model_card.md")).read_text()
    assert "Sampled: the featured dataset has 69,120 rows, more than --max-rows 51,840" in card


def test_without_max_rows_the_budget_is_the_memory_available(features_dir, monkeypatch):
    """A machine with little memory left: the budget follows it (psutil's figure stands in for a small VM)."""
    import collections

    import psutil

    columns = len(load_features(features_dir, LabelSettings(), max_rows=0).frame.columns)  # those loaded
    memory = collections.namedtuple("memory", "available")
    available = 16 * columns * 7 * ROWS_PER_HOST * 10 // 8  # 7 hosts' worth at the peak
    monkeypatch.setattr(psutil, "virtual_memory", lambda: memory(available))
    sampled = load_features(features_dir, LabelSettings())
    assert sampled.sample is not None and sampled.sample.automatic
    assert sampled.sample.hosts == 7 and sampled.sample.max_rows == 7 * ROWS_PER_HOST
    assert "more than the memory available holds (about 20,160 rows)" in sampled.sample.describe()
