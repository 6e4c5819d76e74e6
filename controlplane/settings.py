"""Typed settings of the control plane (``cloudsense serve``, ``scheduler``, ``db``, ``token``).

Environment variables: ``CLOUDSENSE_<SECTION>__<FIELD>``, e.g. ``CLOUDSENSE_DB__URL=postgresql://...``,
``CLOUDSENSE_INGEST__MAX_CONCURRENT=16``, ``CLOUDSENSE_TELEMETRY__RETENTION_DAYS=14``.
Only this module reads the environment; everything else receives a ``Settings`` (or one section of it).
Tests construct ``Settings(...)`` directly.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "AuthSettings",
    "DatabaseSettings",
    "HostSettings",
    "IngestSettings",
    "LogSettings",
    "SchedulerSettings",
    "ServerSettings",
    "Settings",
    "TelemetrySettings",
    "get_settings",
    "normalise_db_url",
]

DEFAULT_DB_URL = "sqlite+aiosqlite:///.cloudsense/cloudsense.db"
MIB = 1024 * 1024


def normalise_db_url(url: str) -> str:
    """Pick the async driver for a plain URL (``postgresql://`` → asyncpg, ``sqlite://`` → aiosqlite).

    Args:
        url: Any SQLAlchemy URL for Postgres or SQLite.

    Returns:
        The same URL with an async driver.
    """
    for plain, async_ in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql+psycopg://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return async_ + url[len(plain) :]
    return url


class DatabaseSettings(BaseModel):
    """Where the control plane keeps its state."""

    url: str = DEFAULT_DB_URL
    """SQLAlchemy URL; ``postgresql://`` and ``sqlite:///`` are given their async driver automatically."""
    pool_size: int = Field(10, ge=1)
    """Connections kept open per process (Postgres)."""
    max_overflow: int = Field(10, ge=0)
    """Extra connections allowed under load (Postgres)."""
    pool_timeout_seconds: float = Field(10.0, gt=0)
    """How long a request waits for a pooled connection before failing."""
    sqlite_busy_timeout_seconds: float = Field(30.0, gt=0)
    """SQLite: how long a writer waits for the database lock."""
    auto_migrate: bool = True
    """``serve``, ``scheduler`` and ``token`` upgrade the schema to head first (under an advisory lock on
    Postgres, so replicas starting together are safe). When false they refuse a schema not at head."""
    echo: bool = False
    """Log every SQL statement (debugging only)."""

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return normalise_db_url(value)

    @property
    def is_sqlite(self) -> bool:
        """Whether the URL points at SQLite."""
        return self.url.startswith("sqlite")


class ServerSettings(BaseModel):
    """The HTTP server."""

    host: str = "127.0.0.1"
    """Interface to bind."""
    port: int = Field(8000, ge=0, le=65535)
    """TCP port (0: any free port)."""
    max_request_body_bytes: int = Field(1 * MIB, ge=1024)
    """Body limit of every endpoint but telemetry ingest (which has its own, see ``ingest``)."""
    workers: int = Field(1, ge=1)
    """uvicorn worker processes (the embedded scheduler is leader-elected, so several are safe)."""
    metrics_token: SecretStr | None = None
    """When set, ``GET /metrics`` answers only ``Authorization: Bearer <this>`` (Prometheus:
    ``authorization: {credentials_file: ...}`` in the scrape config), 401 otherwise: on a network that is not
    trusted, the metrics name hosts and show the fleet's load. ``/health`` and ``/ready`` stay open (the
    probes of a load balancer or of Kubernetes carry no credential, and they tell nothing)."""
    keep_alive_seconds: int = Field(75, ge=1)
    """How long an idle HTTP connection stays open. Longer than the agents' interval, so each agent keeps one
    connection (and one TLS session) instead of reconnecting every cycle (uvicorn's default is 5 s); longer
    than the agents' own idle expiry (60 s), so the client always closes first and never races a close."""

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # An empty value (an uncommented, unfilled line of server.env) means no token, not the empty token
        # that no scrape could send.
        return None if isinstance(value, str) and not value.strip() else value


class IngestSettings(BaseModel):
    """``POST /api/v1/telemetry``: limits and overload protection."""

    max_body_bytes: int = Field(10 * MIB, ge=1024)
    """Largest request body as sent (compressed or not): 413 above it."""
    max_decompressed_bytes: int = Field(32 * MIB, ge=1024)
    """Largest body after gzip decompression: 413 above it (decompression stops there)."""
    max_concurrent: int = Field(8, ge=1)
    """Ingest requests processed at once per process; beyond it, 429 with Retry-After."""
    retry_after_seconds: int = Field(1, ge=1)
    """Retry-After sent with 429."""
    max_future_skew_seconds: float = Field(300.0, ge=0)
    """Samples stamped later than now + this are refused (a host clock far ahead)."""
    max_sample_age_seconds: float = Field(30 * 86400.0, gt=0)
    """Samples older than this are refused (they would fall outside retention)."""


class HostSettings(BaseModel):
    """How a host's status is derived from its last contact."""

    stale_after_seconds: float = Field(60.0, gt=0)
    """No batch for this long: ``stale``."""
    down_after_seconds: float = Field(300.0, gt=0)
    """No batch for this long: ``down`` (never sent one: ``pending`` for this long after enrolling)."""

    @model_validator(mode="after")
    def _ordered(self) -> HostSettings:
        if self.down_after_seconds < self.stale_after_seconds:
            raise ValueError("down_after_seconds must be >= stale_after_seconds")
        return self


class TelemetrySettings(BaseModel):
    """Storage, retention and queries of telemetry."""

    retention_days: int = Field(30, ge=1)
    """Telemetry older than this is dropped (a whole partition at a time on Postgres)."""
    partitions_ahead_days: int = Field(3, ge=1)
    """Daily partitions created ahead of today (Postgres)."""
    max_points: int = Field(5000, ge=10)
    """Most buckets one downsampled query may return: 422 above it."""
    default_points: int = Field(500, ge=10)
    """Buckets aimed at when the query gives no step."""


class AuthSettings(BaseModel):
    """Credentials."""

    enrollment_ttl_seconds: int = Field(3600, ge=1)
    """Default lifetime of an enrollment token."""


class SchedulerSettings(BaseModel):
    """The embedded (or stand-alone) job scheduler."""

    enabled: bool = True
    """Run the scheduler inside ``serve`` (``cloudsense scheduler`` runs it alone)."""
    leader_lock_key: int = 0x436C6F756453656E  # "CloudSen"
    """Postgres advisory-lock key that elects the one leader that fires jobs."""
    leader_poll_seconds: float = Field(10.0, gt=0)
    """How often a follower tries to become leader, and the leader checks it still is."""
    maintenance_interval_seconds: float = Field(3600.0, gt=0)
    """How often partitions are created ahead and old telemetry dropped."""


class LogSettings(BaseModel):
    """Logging."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Minimum level."""
    json_output: bool | None = None
    """JSON lines (true), console (false), or JSON exactly when stderr is not a terminal (unset)."""


class Settings(BaseSettings):
    """Every setting of the control plane."""

    model_config = SettingsConfigDict(env_prefix="CLOUDSENSE_", env_nested_delimiter="__", extra="ignore")

    db: DatabaseSettings = DatabaseSettings()
    """Database."""
    server: ServerSettings = ServerSettings()
    """HTTP server."""
    ingest: IngestSettings = IngestSettings()
    """Telemetry ingest."""
    hosts: HostSettings = HostSettings()
    """Host status."""
    telemetry: TelemetrySettings = TelemetrySettings()
    """Telemetry storage and queries."""
    auth: AuthSettings = AuthSettings()
    """Credentials."""
    scheduler: SchedulerSettings = SchedulerSettings()
    """Scheduler."""
    log: LogSettings = LogSettings()
    """Logging."""


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
