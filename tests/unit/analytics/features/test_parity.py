"""Spark (batch) and numpy (online) implementations of the specification give the same features.

Both start from the same raw telemetry (jittered timestamps, short and long gaps, missing values, a metric
absent altogether, utilisation above 100 %), at 60 s and at 300 s, and must agree to 1e-9 on every row,
NaN for NaN. A second run on a truncated copy checks that no feature reads the future.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agent.wire import METRIC_NAMES
from analytics.etl.options import EtlOptions
from analytics.features import FEATURE_NAMES, FEATURES
from analytics.features.grid import resample
from analytics.features.online import compute_features, sanitize
from analytics.settings import LabelSettings

pytestmark = pytest.mark.spark


def spark_features(spark, raw: pd.DataFrame, step: int) -> pd.DataFrame:
    from analytics.etl import build_feature_frame

    featured = build_feature_frame(spark.createDataFrame(raw), LabelSettings(), step_seconds=step)
    out = featured.frame.select("host_id", "timestamp", "filled", *FEATURE_NAMES).toPandas()
    return out.sort_values(["host_id", "timestamp"]).reset_index(drop=True)


def numpy_features(raw: pd.DataFrame, step: int) -> pd.DataFrame:
    options = EtlOptions()
    frames = []
    for host, rows in raw.groupby("host_id"):
        present = [m for m in METRIC_NAMES if m in rows]
        clean = sanitize({m: rows[m].to_numpy(float) for m in present})
        grid = resample(
            rows["timestamp"].to_numpy(np.int64),
            np.column_stack([clean[m] for m in present]),
            step,
            options.fill_limit(step),
            options.gap_rows(step),
        )
        keep = ~grid.gap
        columns = {m: grid.values[keep, i] for i, m in enumerate(present)}
        x = compute_features(grid.timestamps[keep], columns, step)
        frame = pd.DataFrame(x, columns=list(FEATURE_NAMES))
        frame.insert(0, "filled", grid.filled[keep])
        frame.insert(0, "timestamp", grid.timestamps[keep])
        frame.insert(0, "host_id", host)
        frames.append(frame)
    return pd.concat(frames).sort_values(["host_id", "timestamp"]).reset_index(drop=True)


def assert_same(batch: pd.DataFrame, online: pd.DataFrame) -> None:
    assert batch[["host_id", "timestamp", "filled"]].equals(online[["host_id", "timestamp", "filled"]])
    a = batch[list(FEATURE_NAMES)].to_numpy(float)
    b = online[list(FEATURE_NAMES)].to_numpy(float)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    mismatched = [FEATURE_NAMES[j] for j in np.flatnonzero((nan_a != nan_b).any(axis=0))]
    assert not mismatched, f"missing in one implementation only: {mismatched}"
    close = np.isclose(np.where(nan_a, 0, a), np.where(nan_b, 0, b), rtol=1e-9, atol=1e-9)
    worst = [FEATURE_NAMES[j] for j in np.flatnonzero(~close.all(axis=0))]
    assert not worst, f"features differ: {worst}"


@pytest.mark.parametrize(("step", "rows"), [(60, 320), (300, 260)])
def test_spark_and_numpy_agree(spark, messy, step, rows):
    raw = messy(step, rows, seed=step)
    batch = spark_features(spark, raw, step)
    online = numpy_features(raw, step)
    assert len(batch) >= 3 * (rows - 90)  # the long gap (80 steps per host) stays a gap; jitter merges a few
    assert batch["filled"].any()  # the short gap was filled
    for f in FEATURES:
        if "swap_util" not in f.inputs:  # absent from the input: missing throughout, in both
            assert batch[f.name].notna().any(), f"{f.name} is never computed"
    assert_same(batch, online)


def test_no_feature_reads_the_future(spark, messy):
    step = 60
    raw = messy(step, 320, seed=11)
    cut = int(raw["timestamp"].quantile(0.6)) // step * step  # on the grid: the bucket ending at cut is whole
    full = spark_features(spark, raw, step)
    part = spark_features(spark, raw[raw["timestamp"] <= cut], step)
    full = full[full["timestamp"] <= cut]
    # Rows inserted into a gap that straddles the cut exist only once the gap has closed: compare the rows
    # present in both.
    both = full.merge(part[["host_id", "timestamp"]], on=["host_id", "timestamp"])
    part = part.merge(both[["host_id", "timestamp"]], on=["host_id", "timestamp"])
    assert len(both) > 0.9 * len(part) > 0
    assert_same(both.reset_index(drop=True), part.reset_index(drop=True))
    # and the online form of the truncated data agrees with the batch rows of the full data
    online = numpy_features(raw[raw["timestamp"] <= cut], step)
    assert_same(both.reset_index(drop=True), online.merge(both[["host_id", "timestamp"]]))
