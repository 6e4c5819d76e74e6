"""Read a featured, labelled dataset (the ETL's output) into memory for training.

The ETL writes ``FEATURES/data/date=.../*.parquet`` (host_id, timestamp, resampled metrics, features,
labels) and ``FEATURES/_feature_set.json`` (version, feature names, step, label settings). Training reads
both with pyarrow: a few million rows of float64 fit in memory, and LightGBM wants numpy anyway.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from analytics.settings import LabelSettings

__all__ = ["FEATURE_SET_FILE", "FeatureData", "Matrix", "from_frame", "load_features"]

FEATURE_SET_FILE = "_feature_set.json"

Matrix: TypeAlias = "NDArray[np.floating[Any]]"
"""Feature matrices: float32 (as loaded from the ETL output) or float64."""


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


def load_features(path: str | Path, label: LabelSettings) -> FeatureData:
    """Read an ETL output directory.

    Args:
        path: The ``FEATURES`` directory.
        label: Label settings, used where the feature-set file does not record them.

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

    table = dataset.to_table(columns={c: typed(c) for c in columns})
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
    return data


def _infer_step(frame: pd.DataFrame) -> int:
    diffs = frame.sort_values(["host_id", "timestamp"])["timestamp"].diff()
    same = frame.sort_values(["host_id", "timestamp"])["host_id"].eq(
        frame.sort_values(["host_id", "timestamp"])["host_id"].shift()
    )
    positive = diffs[same & (diffs > 0)]
    return int(positive.median()) if len(positive) else 60
