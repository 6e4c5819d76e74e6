"""``telemetry``: one row per sample, unique on ``(host_id, epoch, seq, ts)``.

On Postgres the table is partitioned by ``RANGE (ts)`` into daily partitions (``telemetry_pYYYYMMDD``)
plus ``telemetry_default`` as a safety net; see ``controlplane.domain.telemetry.partitions``.
A partitioned table's unique key must contain the partition key, hence ``ts`` in the primary key; a
sample's ``ts`` never changes on replay (the agent resends the spooled record as it is).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Double, Index, String, Table

from agent.wire import METRIC_NAMES
from controlplane.db.base import metadata
from controlplane.db.types import JsonDoc, UTCDateTime

__all__ = ["TELEMETRY_COLUMNS", "telemetry"]

telemetry = Table(
    "telemetry",
    metadata,
    Column("host_id", String(253), primary_key=True),
    Column("epoch", BigInteger, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", UTCDateTime, primary_key=True),
    *(Column(name, Double) for name in METRIC_NAMES),
    Column("mounts", JsonDoc),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_telemetry_host_id_ts", "host_id", "ts"),
    postgresql_partition_by="RANGE (ts)",
)
"""Core table (no ORM class: it is written in bulk and read in aggregates)."""

TELEMETRY_COLUMNS: tuple[str, ...] = tuple(c.name for c in telemetry.columns)
"""Column order used by the bulk paths (COPY, executemany)."""
