"""Turn any fleet's dataset (Parquet or CSV, canonical schema) into features and labels via the Spark ETL.

A dataset is ``host_id``, ``timestamp`` (epoch seconds, ms, µs or ns, a timestamp type or ISO-8601 text) and
any of the metric columns of ``agent.wire.METRIC_NAMES``; other columns (a dataset's own labels, say) are
ignored: labels are derived from the telemetry, exactly as for training. The ETL (``analytics.etl.run_etl``)
does the data quality, resampling, features and labels: the same code path as training, so the model sees the
features it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from analytics.etl.options import add_column_argument, add_sample_hosts_argument
from analytics.features import FEATURE_NAMES
from analytics.training.data import FeatureData, add_max_rows_argument, load_features, row_budget

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

    from analytics.etl.report import QualityReport
    from analytics.settings import Settings

__all__ = ["DatasetError", "Featurized", "add_dataset_arguments", "featurize", "featurize_args"]

log = structlog.get_logger()


class DatasetError(ValueError):
    """The dataset cannot be used (no such file, missing key columns, no rows)."""


@dataclass(frozen=True, slots=True)
class Featurized:
    """A featured dataset and the ETL's report on it."""

    data: FeatureData
    """The featured, labelled rows."""
    report: QualityReport
    """What the data-quality checks and the resampling did (print ``report.summary()`` for people)."""


def featurize(
    dataset: Path,
    settings: Settings,
    workdir: Path,
    *,
    step_seconds: int | None = None,
    master: str | None = None,
    columns: Mapping[str, str] | None = None,
    max_rows: int | None = None,
    seed: int = 0,
    sample_hosts: int | None = None,
) -> Featurized:
    """Run the Spark ETL on a dataset and load the featured, labelled rows.

    Args:
        dataset: The Parquet file (or directory, or lake).
        settings: Analytics settings (label definition, Spark).
        workdir: Scratch directory for the features.
        step_seconds: Resampling step (a model's step when scoring; ``None``: the ETL infers it).
        master: Spark master override.
        columns: Columns added or replaced first, ``{name: Spark SQL expression}`` (``--column``).
        max_rows: Row budget of the loaded features (see :func:`~analytics.training.data.load_features`);
            the ETL reads a sample of whole hosts within it too (``None``: the memory's budget; ``0``: all).
        seed: Seed of the host samples (``sample_hosts``, and ``max_rows`` when the budget calls for one).
        sample_hosts: Featurise only this many hosts, a seeded random sample (``--sample-hosts``).

    Returns:
        The featured dataset and the quality report.

    Raises:
        DatasetError: The ETL refused the input, or it produced no rows.
    """
    from analytics.etl import EtlInputError, EtlOptions, run_etl
    from analytics.etl.labels import label_columns
    from analytics.spark import create_spark_session, owns_no_session, stop_spark
    from analytics.spark_progress import SparkProgress

    features = workdir / "features"
    # The loader after the ETL holds at most this many rows: featurise no more (a host featurised only to be
    # left out costs ETL time for nothing). Input rows stand for featured rows (one per step): fewer when
    # the input is finer than the step, a few more where short gaps are filled (the loader then samples).
    etl_rows = max_rows or None
    if max_rows is None:
        etl_rows = row_budget(2 + len(FEATURE_NAMES) + len(label_columns(settings.label.resources)))
    owned = owns_no_session()  # a session already running (a test's, a notebook's) is left running
    spark = create_spark_session(settings.spark, master=master, app_name="cloudsense-evaluate")
    try:
        options = EtlOptions(
            columns=dict(columns or {}),
            sample_hosts=sample_hosts,
            max_rows=etl_rows,
            sample_automatic=max_rows is None,
            sample_seed=seed,
        )
        try:
            with SparkProgress(spark) as progress:  # a line on stderr
                report = run_etl(
                    spark, dataset, features, settings, step_seconds, options, on_phase=progress.phase
                )
        finally:
            if owned:
                stop_spark(spark)  # its heap is memory that the rows loaded next can use
        data = load_features(features, settings.label, max_rows=max_rows, seed=seed)
    except (EtlInputError, FileNotFoundError) as exc:
        raise DatasetError(str(exc)) from exc
    log.info("dataset_featurized", path=str(dataset), rows=len(data.frame), step_seconds=report.step_seconds)
    return Featurized(data, report)


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """Which dataset and how to read it: the options ``evaluate`` and ``backtest`` share."""
    parser.add_argument(
        "--dataset",
        required=True,
        type=Path,
        help="Parquet or CSV file (or directory) in the canonical schema",
    )
    add_column_argument(parser)
    add_sample_hosts_argument(parser)
    add_max_rows_argument(parser)
    parser.add_argument("--master", default=None, help="Spark master URL (default: settings)")


def featurize_args(
    args: argparse.Namespace, settings: Settings, workdir: Path, *, step_seconds: int | None, seed: int
) -> Featurized:
    """:func:`featurize` with the options of :func:`add_dataset_arguments`."""
    return featurize(
        args.dataset,
        settings,
        workdir,
        step_seconds=step_seconds,
        master=args.master,
        columns=dict(args.column),
        max_rows=args.max_rows,
        sample_hosts=args.sample_hosts,
        seed=seed,
    )
