"""The canonical telemetry lake: one schema, one layout, for the generator and the control plane's export.

Layout (Hive-style partitions, which Spark, DuckDB, polars and pyarrow all read)::

    LAKE/telemetry/_meta.json                         who wrote it, rows, hosts, time range
    LAKE/telemetry/date=YYYY-MM-DD/part-<name>.parquet

Schema (:data:`TELEMETRY_SCHEMA`): ``host_id`` string, ``timestamp`` int64 epoch seconds UTC, one nullable
float64 column per ``agent.wire.METRIC_NAMES`` (absent metric: null), ``epoch`` int64 and ``seq`` int64
(``(host_id, epoch, seq)`` identifies a sample, as on the wire). The ``date`` of the partition is the UTC
date of ``timestamp``; it lives in the path only. Files and folders whose names start with ``_`` or ``.``
are not data (readers skip them).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from agent.wire import METRICS

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "LAKE_SCHEMA_VERSION",
    "META_FILE",
    "TELEMETRY_DIR",
    "TELEMETRY_SCHEMA",
    "partition_dir",
    "partition_name",
    "read_meta",
    "read_telemetry",
    "telemetry_table",
    "write_meta",
    "write_part",
]

LAKE_SCHEMA_VERSION: Final = 1
TELEMETRY_DIR: Final = "telemetry"
META_FILE: Final = "_meta.json"
PARQUET_COMPRESSION: Final = "zstd"

TELEMETRY_SCHEMA: Final = pa.schema(
    [
        pa.field("host_id", pa.string(), nullable=False),
        pa.field("timestamp", pa.int64(), nullable=False, metadata={"unit": "epoch_seconds_utc"}),
        *(pa.field(m.name, pa.float64(), nullable=True, metadata={"unit": m.unit}) for m in METRICS),
        pa.field("epoch", pa.int64(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
    ],
    metadata={"cloudsense.lake.schema_version": str(LAKE_SCHEMA_VERSION)},
)
"""The columns of every telemetry Parquet file, in this order."""


def partition_name(day: date) -> str:
    """``date=YYYY-MM-DD``."""
    return f"date={day.isoformat()}"


def partition_dir(telemetry_root: Path, day: date) -> Path:
    """The folder of ``day``'s partition under ``LAKE/telemetry``."""
    return telemetry_root / partition_name(day)


def utc_date(ts: float) -> date:
    """The UTC date of epoch seconds ``ts``."""
    return datetime.fromtimestamp(ts, UTC).date()


def telemetry_table(columns: Mapping[str, Any]) -> pa.Table:
    """Build a table in the canonical schema from column arrays (lists, arrays, numpy, pyarrow).

    Metric columns that are missing become all-null; extra columns are refused.

    Raises:
        ValueError: an unknown column, a missing key column, or columns of different lengths.
    """
    unknown = set(columns) - set(TELEMETRY_SCHEMA.names)
    if unknown:
        raise ValueError(f"not in the telemetry schema: {sorted(unknown)}")
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    rows = lengths.pop() if lengths else 0
    arrays = []
    for field in TELEMETRY_SCHEMA:
        if field.name in columns:
            arrays.append(pa.array(columns[field.name], type=field.type))
        elif field.nullable:
            arrays.append(pa.nulls(rows, type=field.type))
        else:
            raise ValueError(f"missing required column {field.name!r}")
    return pa.Table.from_arrays(arrays, schema=TELEMETRY_SCHEMA)


def write_part(table: pa.Table, path: Path) -> None:
    """Write one Parquet file atomically (temporary name, then rename), in the canonical schema.

    Raises:
        ValueError: the table's schema is not the canonical one.
    """
    if not table.schema.equals(TELEMETRY_SCHEMA, check_metadata=False):
        raise ValueError(f"schema differs from TELEMETRY_SCHEMA:\n{table.schema}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(
        table.replace_schema_metadata(TELEMETRY_SCHEMA.metadata), tmp, compression=PARQUET_COMPRESSION
    )
    tmp.replace(path)


def write_meta(telemetry_root: Path, meta: Mapping[str, Any]) -> None:
    """Write ``_meta.json`` (sorted keys, so the same content gives the same bytes)."""
    body = {"lake_schema_version": LAKE_SCHEMA_VERSION, **meta}
    (telemetry_root / META_FILE).write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")


def read_meta(lake: Path) -> dict[str, Any]:
    """Read ``LAKE/telemetry/_meta.json`` (``lake`` may also be the telemetry folder itself)."""
    root = lake if (lake / META_FILE).exists() else lake / TELEMETRY_DIR
    meta: dict[str, Any] = json.loads((root / META_FILE).read_text())
    return meta


def read_telemetry(lake: Path, columns: list[str] | None = None) -> pa.Table:
    """Read the whole telemetry lake (or ``LAKE/telemetry``) into one table, ``date`` column included."""
    root = lake / TELEMETRY_DIR if (lake / TELEMETRY_DIR).is_dir() else lake
    dataset = ds.dataset(root, format="parquet", partitioning="hive", schema=_with_date())
    return dataset.to_table(columns=columns)


def _with_date() -> pa.Schema:
    return TELEMETRY_SCHEMA.append(pa.field("date", pa.string()))
