"""Turn any fleet's dataset (one Parquet file, canonical schema) into features and labels via the Spark ETL.

A dataset is ``host_id``, ``timestamp`` (epoch seconds, or a timestamp type) and any of the metric columns
of ``agent.wire.METRIC_NAMES``; other columns are ignored (labels are derived from the telemetry, exactly as
for training). The rows are written as a telemetry lake (``analytics.lake``) in a work directory, and the
ETL (``analytics.etl.run_etl``) featurises and labels them: the same code path as training, so the
features the model sees are the features it was trained on.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import structlog

from agent.wire import METRIC_NAMES
from analytics.lake import TELEMETRY_DIR, partition_dir, telemetry_table, write_meta, write_part
from analytics.training.data import FeatureData, load_features

if TYPE_CHECKING:
    from analytics.settings import Settings

__all__ = ["DatasetError", "featurize", "read_dataset", "write_lake"]

log = structlog.get_logger()


class DatasetError(ValueError):
    """The dataset cannot be used (missing key columns, no metric, no rows)."""


def read_dataset(path: Path) -> pd.DataFrame:
    """Read a canonical-schema dataset: ``host_id`` (str), ``timestamp`` (int64 s), metric columns (float64).

    Args:
        path: A Parquet file (or a directory of Parquet files).

    Returns:
        The rows, metric columns as float64 (values as they are: > 100 % is the ETL's business).

    Raises:
        DatasetError: No ``host_id`` / ``timestamp`` column, no known metric, or no rows.
    """
    table = pq.read_table(str(path))
    frame = table.to_pandas()
    missing = [c for c in ("host_id", "timestamp") if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"{path}: missing column(s) {missing}; the canonical schema needs host_id, timestamp"
        )
    metrics = [m for m in METRIC_NAMES if m in frame.columns]
    if not metrics:
        raise DatasetError(f"{path}: none of the metric columns {list(METRIC_NAMES)} is present")
    if frame.empty:
        raise DatasetError(f"{path}: no rows")
    ts = frame["timestamp"]
    if pd.api.types.is_datetime64_any_dtype(ts):
        ts = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts
        frame["timestamp"] = (ts.astype("int64") // 1_000_000_000).astype(np.int64)
    else:
        frame["timestamp"] = ts.astype(np.int64)
    frame["host_id"] = frame["host_id"].astype(str)
    for metric in metrics:
        frame[metric] = frame[metric].astype(np.float64)
    return frame[["host_id", "timestamp", *metrics]]


def write_lake(frame: pd.DataFrame, lake: Path) -> Path:
    """Write dataset rows as a telemetry lake (``LAKE/telemetry/date=.../part-0.parquet``).

    ``epoch`` is 0 and ``seq`` numbers each host's rows in time order (a dataset has no agent identity).

    Args:
        frame: Output of :func:`read_dataset`.
        lake: Lake root (created).

    Returns:
        ``lake``.
    """
    frame = frame.sort_values(["host_id", "timestamp"], kind="stable").reset_index(drop=True)
    seq = frame.groupby("host_id", sort=False).cumcount().to_numpy(dtype=np.int64)
    day = frame["timestamp"].to_numpy() // 86_400
    root = lake / TELEMETRY_DIR
    metrics = [m for m in METRIC_NAMES if m in frame.columns]
    for value in np.unique(day):
        rows = day == value
        columns: dict[str, Any] = {
            "host_id": frame["host_id"].to_numpy()[rows],
            "timestamp": frame["timestamp"].to_numpy()[rows],
            "epoch": np.zeros(int(rows.sum()), dtype=np.int64),
            "seq": seq[rows],
        }
        columns |= {m: frame[m].to_numpy()[rows] for m in metrics}
        when = datetime.fromtimestamp(int(value) * 86_400, UTC).date()
        write_part(telemetry_table(columns), partition_dir(root, when) / "part-0.parquet")
    write_meta(
        root,
        {
            "writer": "cloudsense evaluate/backtest (dataset import)",
            "rows": len(frame),
            "hosts": int(frame["host_id"].nunique()),
            "metrics": metrics,
        },
    )
    return lake


def featurize(
    dataset: Path,
    settings: Settings,
    workdir: Path,
    *,
    step_seconds: int | None = None,
    master: str | None = None,
) -> FeatureData:
    """Read a dataset, run the Spark ETL on it, and load the featured, labelled rows.

    Args:
        dataset: The Parquet file.
        settings: Analytics settings (label definition, Spark).
        workdir: Scratch directory for the lake and the features.
        step_seconds: Resampling step (a model's step when scoring; ``None``: the ETL infers it).
        master: Spark master override.

    Returns:
        The featured dataset.
    """
    from analytics.spark import create_spark_session

    frame = read_dataset(dataset)
    log.info("dataset_read", path=str(dataset), rows=len(frame), hosts=int(frame["host_id"].nunique()))
    lake = write_lake(frame, workdir / "lake")
    features = workdir / "features"
    etl = importlib.import_module("analytics.etl")
    spark = create_spark_session(settings.spark, master=master, app_name="cloudsense-evaluate")
    etl.run_etl(spark, lake, features, settings, step_seconds=step_seconds)
    return load_features(features, settings.label)
