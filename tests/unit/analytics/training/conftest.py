"""Synthetic featured fleets in the ETL's output schema, for training tests without Spark.

``make_featured_fleet`` builds what ``cloudsense etl`` writes: host_id, timestamp (uniform step), metric
columns, a few window features, ``label[_<r>]``, ``exhausted[_<r>]`` and ``tte[_<r>]_seconds``, with labels
derived from the telemetry as the contract says (>= threshold held >= min duration; onset in (t, t + h]).
Memory leaks ramp towards 100 % (some recover before exhausting); disks fill; CPU bursts are short noise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

RESOURCES = ("cpu_util", "mem_util", "disk_util")
STEP = 60
HORIZON = 1800
FEATURES = [
    "cpu_util_now",
    "mem_util_now",
    "disk_util_now",
    "mem_util_slope_10m",
    "mem_util_slope_30m",
    "disk_util_slope_30m",
    "cpu_util_mean_30m",
    "mem_util_max_30m",
    "hour_sin",
    "hour_cos",
]


def _episodes(values: np.ndarray, threshold: float = 95.0, min_steps: int = 3) -> np.ndarray:
    """1 on every row of a run >= threshold lasting at least ``min_steps`` rows."""
    high = values >= threshold
    out = np.zeros(values.size, dtype=np.int8)
    start = None
    for i, h in enumerate(np.r_[high, False]):
        if h and start is None:
            start = i
        elif not h and start is not None:
            if i - start >= min_steps:
                out[start:i] = 1
            start = None
    return out


def _labels(ts: np.ndarray, exhausted: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    onset = np.flatnonzero((exhausted == 1) & (np.r_[0, exhausted[:-1]] == 0))
    onset = onset[onset > 0]
    onset_ts = ts[onset]
    nxt = np.searchsorted(onset_ts, ts, side="right")
    tte = np.full(ts.size, np.nan)
    has = nxt < onset_ts.size
    tte[has] = onset_ts[nxt[has]] - ts[has]
    tte[tte > horizon] = np.nan
    return (~np.isnan(tte)).astype(np.int8), tte


def _host(rng: np.random.Generator, host_id: str, n: int, start: int) -> pd.DataFrame:
    ts = start + STEP * np.arange(n, dtype=np.int64)
    hour = (ts % 86400) / 3600.0
    cpu = np.clip(30 + 15 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 6, n), 0, 100)
    bursts = rng.random(n) < 0.01
    cpu[bursts] = rng.uniform(90, 100, bursts.sum())  # single-sample bursts: never an episode
    mem = np.clip(50 + rng.normal(0, 2, n), 0, 100)
    disk = np.full(n, rng.uniform(30, 60)) + np.cumsum(rng.normal(0, 0.01, n))
    i = int(rng.integers(60, 300))
    while i < n - 200:
        length = int(rng.integers(40, 120))
        recovers = rng.random() < 0.3
        peak = rng.uniform(85, 92) if recovers else 100.0
        ramp = np.linspace(mem[i], peak, length) + rng.normal(0, 1.0, length)
        hold = 0 if recovers else int(rng.integers(4, 15))
        seg = np.r_[ramp, np.full(hold, 99.0)]
        end = min(i + seg.size, n)
        mem[i:end] = seg[: end - i]
        i = end + int(rng.integers(200, 700))
    mem = np.clip(mem, 0, 100)
    if rng.random() < 0.3:
        fill_start = int(rng.integers(n // 3, n - 200))
        disk[fill_start:] += np.linspace(0, 80, n - fill_start)
    disk = np.clip(disk, 0, 100)
    frame = pd.DataFrame(
        {"host_id": host_id, "timestamp": ts, "cpu_util": cpu, "mem_util": mem, "disk_util": disk}
    )
    for r in RESOURCES:
        frame[f"exhausted_{r}"] = _episodes(frame[r].to_numpy())
        frame[f"label_{r}"], frame[f"tte_{r}_seconds"] = _labels(
            ts, frame[f"exhausted_{r}"].to_numpy(), HORIZON
        )
    exhausted = frame[[f"exhausted_{r}" for r in RESOURCES]].max(axis=1).to_numpy()
    frame["exhausted"] = exhausted
    tte = frame[[f"tte_{r}_seconds" for r in RESOURCES]].min(axis=1).to_numpy()
    frame["tte_seconds"] = tte
    frame["label"] = (~np.isnan(tte)).astype(np.int8)
    for r in RESOURCES:
        frame[f"{r.split('_')[0]}_util_now"] = frame[r]
    m = frame["mem_util"]
    frame["mem_util_slope_10m"] = m.diff(10) / 10
    frame["mem_util_slope_30m"] = m.diff(30) / 30
    frame["disk_util_slope_30m"] = frame["disk_util"].diff(30) / 30
    frame["cpu_util_mean_30m"] = frame["cpu_util"].rolling(30, min_periods=1).mean()
    frame["mem_util_max_30m"] = m.rolling(30, min_periods=1).max()
    frame["hour_sin"] = np.sin(2 * np.pi * hour / 24)
    frame["hour_cos"] = np.cos(2 * np.pi * hour / 24)
    return frame


def make_featured_fleet(n_hosts: int = 24, days: float = 2.0, seed: int = 0) -> pd.DataFrame:
    """A featured, labelled fleet in the ETL's output schema."""
    rng = np.random.default_rng(seed)
    roles = ("web", "db", "batch", "cache")
    n = int(days * 86400 / STEP)
    start = 1_700_000_000 - 1_700_000_000 % 86400
    frames = [_host(rng, f"sim-{roles[i % 4]}-{i:04d}", n, start) for i in range(n_hosts)]
    return pd.concat(frames, ignore_index=True)


def write_features(frame: pd.DataFrame, root: Path) -> Path:
    """Write ``frame`` as the ETL does: ``root/data/date=.../part.parquet`` + ``root/_feature_set.json``."""
    data = root / "data"
    frame = frame.copy()
    frame["date"] = pd.to_datetime(frame["timestamp"], unit="s", utc=True).dt.strftime("%Y-%m-%d")
    for date, part in frame.groupby("date"):
        out = data / f"date={date}"
        out.mkdir(parents=True, exist_ok=True)
        part.drop(columns="date").to_parquet(out / "part-0.parquet", index=False)
    spec = {
        "feature_set_version": "test-1",
        "feature_names": FEATURES,
        "step_seconds": STEP,
        "label": {"horizon_seconds": HORIZON, "threshold_percent": 95.0, "min_duration_seconds": 180},
    }
    (root / "_feature_set.json").write_text(json.dumps(spec))
    return root


@pytest.fixture(scope="session")
def featured_frame() -> pd.DataFrame:
    """A 24-host, 2-day synthetic featured fleet (seed 0)."""
    return make_featured_fleet()


@pytest.fixture(scope="session")
def features_dir(tmp_path_factory: pytest.TempPathFactory, featured_frame: pd.DataFrame) -> Path:
    """``featured_frame`` written in the ETL's directory layout."""
    return write_features(featured_frame, tmp_path_factory.mktemp("features"))


@pytest.fixture(scope="session")
def train_settings(tmp_path_factory: pytest.TempPathFactory):
    """Settings with a throwaway data dir and MLflow store (``sqlite:///{tmp}/mlflow.db``)."""
    from analytics.settings import Settings

    root = tmp_path_factory.mktemp("cloudsense")
    return Settings(
        data_dir=root / "data",
        mlflow={"tracking_uri": f"sqlite:///{root}/mlflow.db", "artifact_location": (root / "art").as_uri()},
    )


@pytest.fixture(scope="session")
def trained(features_dir: Path, train_settings):
    """One training run (Optuna n_trials=2) shared by every test that needs a trained, registered model."""
    from analytics.training.command import train

    return train(features_dir, train_settings, trials=2, seed=0, show_progress=False)


@pytest.fixture
def own_store_settings(tmp_path: Path):
    """Settings with this test's own data dir and MLflow store."""
    from analytics.settings import Settings

    return Settings(
        data_dir=tmp_path / "data",
        mlflow={
            "tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
            "artifact_location": (tmp_path / "a").as_uri(),
        },
    )
