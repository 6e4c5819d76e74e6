"""Prometheus metrics of the control plane (``cloudsense_controlplane_*``), in the default registry.

Request latency comes from Litestar's ``PrometheusMiddleware`` (``cloudsense_controlplane_http_*``);
database pool gauges are read from the live engines at scrape time.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.pool import QueuePool

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client.core import Metric
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = [
    "AGENT_SPOOL_DROPPED",
    "HOSTS",
    "INGEST_BATCHES",
    "INGEST_DUPLICATES",
    "INGEST_IN_FLIGHT",
    "INGEST_REJECTED",
    "INGEST_SAMPLES",
    "JOB_RUNS",
    "MIGRATIONS_AT_HEAD",
    "SCHEDULER_LEADER",
    "track_engine",
]

_P = "cloudsense_controlplane_"

INGEST_SAMPLES = Counter(_P + "ingest_samples_total", "Samples newly stored by telemetry ingest.")
INGEST_BATCHES = Counter(_P + "ingest_batches_total", "Telemetry batches committed.")
INGEST_DUPLICATES = Counter(
    _P + "ingest_duplicates_total", "Samples received again (replays), recognised and not stored twice."
)
INGEST_REJECTED = Counter(
    _P + "ingest_rejected_total", "Telemetry batches refused, by reason.", labelnames=["reason"]
)
INGEST_IN_FLIGHT = Gauge(_P + "ingest_in_flight", "Telemetry batches being processed now.")
AGENT_SPOOL_DROPPED = Counter(
    _P + "agent_spool_dropped_total",
    "Samples agents report their spool dropped (cap reached), summed over hosts.",
)
HOSTS = Gauge(_P + "hosts", "Known hosts by status (refreshed at each scrape).", labelnames=["status"])
MIGRATIONS_AT_HEAD = Gauge(
    _P + "migrations_at_head", "1 when the database schema is at the code's head revision (at scrape)."
)
SCHEDULER_LEADER = Gauge(_P + "scheduler_leader", "1 while this process is the scheduler leader.")
JOB_RUNS = Counter(
    _P + "job_runs_total", "Scheduled job runs, by job and outcome.", labelnames=["job", "outcome"]
)

_ENGINES: weakref.WeakSet[AsyncEngine] = weakref.WeakSet()


def track_engine(engine: AsyncEngine) -> None:
    """Report this engine's pool in ``cloudsense_controlplane_db_pool_*``."""
    _ENGINES.add(engine)


class _PoolCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        size = GaugeMetricFamily(_P + "db_pool_size", "Configured pool size.", labels=["database"])
        conns = GaugeMetricFamily(
            _P + "db_pool_connections", "Pooled connections by state.", labels=["database", "state"]
        )
        for engine in list(_ENGINES):
            pool = engine.sync_engine.pool
            name = engine.url.database or ""
            if isinstance(pool, QueuePool):
                size.add_metric([name], pool.size())
                conns.add_metric([name, "checked_out"], pool.checkedout())
                conns.add_metric([name, "idle"], pool.checkedin())
                conns.add_metric([name, "overflow"], max(pool.overflow(), 0))
        yield size
        yield conns


REGISTRY.register(_PoolCollector())
