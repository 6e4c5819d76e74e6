"""Response bodies of the telemetry query endpoint (ingest answers ``agent.wire.IngestResult``)."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ["TelemetryPoint", "TelemetrySeries"]


class TelemetryPoint(msgspec.Struct, kw_only=True, omit_defaults=False):
    """The average of each metric over one bucket ``[ts, ts + step)``; ``null`` where no sample had it."""

    ts: float
    """Bucket start, Unix seconds (UTC)."""
    samples: int
    """Samples in the bucket."""
    cpu_util: float | None = None
    """Average of ``cpu_util`` over the bucket."""
    mem_util: float | None = None
    """Average of ``mem_util`` over the bucket."""
    swap_util: float | None = None
    """Average of ``swap_util`` over the bucket."""
    disk_util: float | None = None
    """Average of ``disk_util`` over the bucket."""
    disk_io: float | None = None
    """Average of ``disk_io`` over the bucket."""
    disk_iops: float | None = None
    """Average of ``disk_iops`` over the bucket."""
    network_in: float | None = None
    """Average of ``network_in`` over the bucket."""
    network_out: float | None = None
    """Average of ``network_out`` over the bucket."""
    active_processes: float | None = None
    """Average of ``active_processes`` over the bucket."""
    load1: float | None = None
    """Average of ``load1`` over the bucket."""
    load5: float | None = None
    """Average of ``load5`` over the bucket."""
    load15: float | None = None
    """Average of ``load15`` over the bucket."""


class TelemetrySeries(msgspec.Struct, kw_only=True):
    """A host's downsampled telemetry; buckets without samples are omitted."""

    host_id: str
    """The host."""
    since: datetime
    """Start of the range (inclusive)."""
    until: datetime
    """End of the range (exclusive)."""
    step_seconds: int
    """Bucket width."""
    points: list[TelemetryPoint]
    """Buckets in time order."""
