"""Read a featured, labelled dataset (the ETL's output) into memory for training.

The ETL writes ``FEATURES/data/date=.../*.parquet`` (host_id, timestamp, resampled metrics, features,
labels) and ``FEATURES/_feature_set.json`` (version, feature names, step, label settings). Training reads
both with pyarrow into memory (LightGBM wants numpy anyway): about 1.3 KB per row at the peak of a training
run with the default features (13.2 GB for a 10M-row fleet).

A dataset larger than memory (a real fleet's trace: thousands of hosts over weeks) is not loaded whole:
:func:`load_features` keeps a seeded random sample of whole hosts that fits (:func:`row_budget`), and says so
in :attr:`FeatureData.sample`. Whole hosts, so that every kept host's history, splits and lead times are
intact; a random sample of hosts, so that the metrics estimate the fleet's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd
import structlog

from analytics.sampling import parse_count, take_hosts

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from analytics.settings import LabelSettings

__all__ = [
    "FEATURE_SET_FILE",
    "FeatureData",
    "HostSample",
    "Matrix",
    "add_max_rows_argument",
    "from_frame",
    "load_features",
    "row_budget",
]

FEATURE_SET_FILE = "_feature_set.json"

log = structlog.get_logger()

Matrix: TypeAlias = "NDArray[np.floating[Any]]"
"""Feature matrices: float32 (as loaded from the ETL output) or float64."""

PEAK_BYTES_PER_VALUE = 16
"""Peak memory of a training run per loaded value (row x column), with a margin: measured 13.2 GB for a
10,080,000-row fleet with 90 columns loaded (14.9 bytes: the frame, the split's matrices, LightGBM's bins)."""
MEMORY_SHARE = 0.8
"""Share of the memory available when loading that the rows may take at the peak."""


@dataclass(frozen=True, slots=True)
class HostSample:
    """A seeded random sample of whole hosts, taken because the dataset did not fit the row budget."""

    hosts: int
    """Hosts kept."""
    of_hosts: int
    """Hosts in the dataset."""
    rows: int
    """Rows kept."""
    of_rows: int
    """Rows in the dataset."""
    max_rows: int
    """The row budget."""
    seed: int
    """Seed of the sample (the same seed keeps the same hosts)."""
    automatic: bool
    """The budget was the memory's (:func:`row_budget`), not a ``--max-rows`` given."""

    def describe(self) -> str:
        """What was kept and why, in one line for people."""
        why = (
            f"more than the memory available holds (about {self.max_rows:,} rows)"
            if self.automatic
            else f"more than --max-rows {self.max_rows:,}"
        )
        return (
            f"the featured dataset has {self.of_rows:,} rows, {why}: a random sample of {self.hosts:,} of "
            f"{self.of_hosts:,} hosts was loaded ({self.rows:,} rows, seed {self.seed})"
        )


@dataclass
class FeatureData:
    """A featured, labelled dataset: one row per host and step, sorted by host then time."""

    frame: pd.DataFrame
    """host_id, timestamp, metrics, features, ``label[_<r>]``, ``exhausted[_<r>]``, ``tte[_<r>]_seconds``."""
    feature_names: list[str]
    """Model inputs, in order."""
    step_seconds: int
    """Resampling step."""
    feature_set_version: str
    """Version of the feature specification."""
    resources: tuple[str, ...]
    """Resources the labels cover."""
    horizon_seconds: int
    """Label horizon."""
    threshold_percent: float = 95.0
    """Exhaustion threshold the labels used."""
    min_duration_seconds: int = 180
    """Minimum episode duration the labels used."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else the feature-set file recorded."""
    sample: HostSample | None = None
    """Set when only a sample of the hosts was loaded (the dataset exceeded the row budget)."""

    def matrix(self, mask: NDArray[np.bool_] | None = None) -> Matrix:
        """Feature matrix (NaN for missing) of all rows or of ``mask``; float32 when the features are."""
        frame = self.frame if mask is None else self.frame.loc[mask]
        columns = frame[self.feature_names]
        single = all(dtype == np.float32 for dtype in columns.dtypes)
        dtype = np.float32 if single else np.float64
        return np.asarray(columns.to_numpy(dtype=dtype, na_value=np.nan))

    def column(self, name: str, mask: NDArray[np.bool_] | None = None) -> NDArray[Any]:
        """One column as numpy (all rows or ``mask``)."""
        values: NDArray[Any] = np.asarray(self.frame[name].to_numpy())
        return values if mask is None else values[mask]


def _feature_names(spec: dict[str, Any]) -> list[str]:
    for key in ("feature_names", "features"):
        names = spec.get(key)
        if isinstance(names, list) and names:
            return [n if isinstance(n, str) else str(n["name"]) for n in names]
    raise ValueError(f"{FEATURE_SET_FILE} lists no feature names (keys: {sorted(spec)})")


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Types, then rows sorted by host and time, in place: a 10M-row frame is several GB, so no whole copy."""
    if "date" in frame.columns:
        del frame["date"]
    if frame["host_id"].dtype != object:
        frame["host_id"] = frame["host_id"].astype(str)
    frame["timestamp"] = frame["timestamp"].astype(np.int64, copy=False)
    for column in frame.columns:
        if column == "label" or column.startswith(("label_", "exhausted")):
            values = frame[column]
            if values.dtype != np.int8:
                frame[column] = values.fillna(0).astype(np.int8)
    if not _sorted_by_host_and_time(frame):
        codes, _ = pd.factorize(frame["host_id"], sort=True)
        order = np.lexsort((frame["timestamp"].to_numpy(), codes))  # stable, like a stable sort_values
        for column in frame.columns:  # one column at a time: the peak is one column, not the table
            frame[column] = frame[column].to_numpy()[order]
    frame.index = pd.RangeIndex(len(frame))
    return frame


def _sorted_by_host_and_time(frame: pd.DataFrame) -> bool:
    hosts, stamps = frame["host_id"].to_numpy(), frame["timestamp"].to_numpy()
    if len(hosts) < 2:
        return True
    same = hosts[1:] == hosts[:-1]
    return bool(np.all((hosts[1:] > hosts[:-1]) | (same & (stamps[1:] >= stamps[:-1]))))


def from_frame(
    frame: pd.DataFrame,
    feature_names: Sequence[str],
    *,
    step_seconds: int,
    feature_set_version: str,
    label: LabelSettings,
) -> FeatureData:
    """Wrap an in-memory featured frame (e.g. a backtest's Spark output converted to pandas).

    Args:
        frame: The featured, labelled rows (its columns may be converted in place).
        feature_names: Model inputs.
        step_seconds: Resampling step.
        feature_set_version: Version of the feature specification.
        label: The label definition the rows were labelled with.

    Returns:
        The dataset, sorted by host then time.
    """
    missing = [c for c in ("host_id", "timestamp", "label", "exhausted", *feature_names) if c not in frame]
    if missing:
        raise ValueError(f"featured frame lacks columns: {missing}")
    return FeatureData(
        frame=_normalise(frame),
        feature_names=list(feature_names),
        step_seconds=int(step_seconds),
        feature_set_version=str(feature_set_version),
        resources=tuple(label.resources),
        horizon_seconds=int(label.horizon_seconds),
        threshold_percent=float(label.threshold_percent),
        min_duration_seconds=int(label.min_duration_seconds),
    )


def row_budget(columns: int, available_bytes: int | None = None) -> int:
    """How many rows of ``columns`` loaded columns a training run can hold in the memory available now.

    Args:
        columns: Columns that will be loaded.
        available_bytes: Memory available (default: the system's, as ``psutil`` reports it).

    Returns:
        The row budget (at least 1).
    """
    if available_bytes is None:
        import psutil

        available_bytes = int(psutil.virtual_memory().available)
    return max(1, int(available_bytes * MEMORY_SHARE) // (PEAK_BYTES_PER_VALUE * max(1, columns)))


def _max_rows(text: str) -> int | None:
    value = text.strip().lower()
    if value == "auto":
        return None
    if value == "all":
        return 0
    rows = parse_count(value)
    if rows is None:
        raise argparse.ArgumentTypeError(
            f"expected a number of rows (1 or more), 'auto' or 'all'; got {text!r}"
        )
    return rows


def add_max_rows_argument(parser: argparse.ArgumentParser) -> None:
    """``--max-rows N|auto|all``, the same for ``train``, ``evaluate`` and ``backtest``."""
    parser.add_argument(
        "--max-rows",
        type=_max_rows,
        default=None,
        metavar="N|auto|all",
        help="load at most N featured rows: a larger dataset is sampled by whole hosts (seeded, said in "
        "the output; evaluate and backtest featurise only the sampled hosts); auto (default): what fits in "
        "the memory available; all: no limit",
    )


def _sample_hosts(
    dataset: Any, max_rows: int, seed: int, total: int, automatic: bool
) -> tuple[list[str], HostSample]:
    """Whole hosts in seeded random order, as many as fit in ``max_rows`` (at least one)."""
    import pyarrow.compute as pc

    counts = pc.value_counts(dataset.to_table(columns=["host_id"]).column("host_id").combine_chunks())
    sizes = {
        str(h): int(n) for h, n in zip(counts.field(0).to_pylist(), counts.field(1).to_pylist(), strict=True)
    }
    kept = take_hosts(sizes, seed, max_rows=max_rows)
    rows = sum(sizes[host] for host in kept)
    return kept, HostSample(len(kept), len(sizes), rows, total, max_rows, seed, automatic)


def load_features(
    path: str | Path, label: LabelSettings, *, max_rows: int | None = None, seed: int = 0
) -> FeatureData:
    """Read an ETL output directory.

    Args:
        path: The ``FEATURES`` directory.
        label: Label settings, used where the feature-set file does not record them.
        max_rows: Row budget: a larger dataset is loaded as a seeded random sample of whole hosts that fits
            (:attr:`FeatureData.sample` says which share). ``None``: :func:`row_budget` of the memory
            available now; ``0``: no limit.
        seed: Seed of the host sample.

    Returns:
        The dataset, sorted by host then time.

    Raises:
        FileNotFoundError: ``path`` has no feature-set file or no data.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    root = Path(path)
    spec_path = root / FEATURE_SET_FILE
    if not spec_path.is_file():
        raise FileNotFoundError(f"{spec_path} not found: is {root} the output of 'cloudsense etl'?")
    spec: dict[str, Any] = json.loads(spec_path.read_text())
    data_dir = root / "data" if (root / "data").is_dir() else root
    dataset = ds.dataset(str(data_dir), format="parquet", partitioning="hive", exclude_invalid_files=True)
    names = _feature_names(spec)
    label_spec: dict[str, Any] = spec.get("label") or spec.get("label_settings") or {}
    resources = label_spec.get("resources") or label.resources
    wanted = {"host_id", "timestamp", *names, *resources}
    columns = [
        c
        for c in dataset.schema.names
        if c in wanted or c == "label" or c.startswith(("label_", "exhausted", "tte_"))
    ]
    budget = row_budget(len(columns)) if max_rows is None else max_rows
    total = dataset.count_rows()  # from the Parquet footers
    sample, where = None, None
    if budget > 0 and total > budget:
        hosts, sample = _sample_hosts(dataset, budget, seed, total, automatic=max_rows is None)
        where = ds.field("host_id").isin(hosts)
        log.warning("features_sampled", path=str(root), **dataclasses.asdict(sample))
    # Features as float32, cast while reading (batch by batch): half the memory on a 10M-row fleet; sklearn's
    # trees use float32 anyway, and LightGBM bins the values (a float32 row converts exactly to the float64
    # that serving passes). Labels as int8. Converted column by column (no consolidated block, which would
    # copy the whole table once more) and sorted in place (see _normalise).
    features = set(names)

    def typed(column: str) -> ds.Expression:
        if column in features:
            return ds.field(column).cast(pa.float32())
        if column == "label" or column.startswith(("label_", "exhausted")):
            return ds.field(column).cast(pa.int8())
        return ds.field(column)

    table = dataset.to_table(columns={c: typed(c) for c in columns}, filter=where)
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    if frame.empty:
        raise FileNotFoundError(f"{data_dir} holds no rows")
    data = from_frame(
        frame,
        names,
        step_seconds=int(spec.get("step_seconds") or _infer_step(frame)),
        feature_set_version=str(spec.get("feature_set_version", "unknown")),
        label=label.model_copy(update={k: v for k, v in label_spec.items() if k in type(label).model_fields}),
    )
    data.extra = {k: v for k, v in spec.items() if k not in {"feature_names", "features"}}
    data.sample = sample
    return data


def _infer_step(frame: pd.DataFrame) -> int:
    diffs = frame.sort_values(["host_id", "timestamp"])["timestamp"].diff()
    same = frame.sort_values(["host_id", "timestamp"])["host_id"].eq(
        frame.sort_values(["host_id", "timestamp"])["host_id"].shift()
    )
    positive = diffs[same & (diffs > 0)]
    return int(positive.median()) if len(positive) else 60
