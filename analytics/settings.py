"""Typed settings of the analytics jobs (generate, etl, train, evaluate, backtest).

Environment variables: ``CLOUDSENSE_<SECTION>__<FIELD>``, e.g. ``CLOUDSENSE_LABEL__HORIZON_SECONDS=1800``,
``CLOUDSENSE_SPARK__MASTER=spark://host:7077``, ``CLOUDSENSE_MLFLOW__TRACKING_URI=postgresql+psycopg://...``.
Only this module reads the environment; jobs receive a ``Settings`` (or one section of it).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "LabelSettings",
    "MlflowSettings",
    "Settings",
    "SparkSettings",
    "TrainingSettings",
    "get_settings",
]


class LabelSettings(BaseModel):
    """What "exhaustion" means. The same definition labels training data and scores evaluations."""

    threshold_percent: float = Field(95.0, gt=0, le=100)
    """A resource is exhausted while its utilisation is at or above this."""
    min_duration_seconds: int = Field(180, ge=0)
    """...and only if it stays there at least this long (shorter bursts are not exhaustion)."""
    horizon_seconds: int = Field(1800, gt=0)
    """A row is positive when an exhaustion episode starts within (t, t + horizon]."""
    resources: tuple[str, ...] = ("cpu_util", "mem_util", "disk_util")
    """Utilisation metrics that can be exhausted."""


class SparkSettings(BaseModel):
    """Where and how Spark jobs run."""

    master: str = "local[*]"
    """Any Spark master URL: local[N], spark://host:7077, k8s://..."""
    driver_memory: str = "4g"
    """spark.driver.memory (local mode: the whole JVM)."""
    shuffle_partitions: int = Field(8, ge=1)
    """spark.sql.shuffle.partitions; small machines want few."""
    conf: dict[str, str] = Field(default_factory=dict)
    """Any further Spark properties, applied last (they win over CloudSense's own), as in spark-defaults.conf:
    ``CLOUDSENSE_SPARK__CONF='{"spark.executor.memory": "8g"}'``."""


class MlflowSettings(BaseModel):
    """Experiment tracking and the model registry."""

    tracking_uri: str | None = None
    """Any MLflow tracking URI; default ``sqlite:///<data_dir>/mlflow.db``."""
    artifact_location: str | None = None
    """Where run artifacts go; default ``<data_dir>/mlartifacts``."""
    experiment: str = "cloudsense"
    """Experiment name."""
    model_name: str = "cloudsense-exhaustion"
    """Registered model name; aliases ``champion`` and ``challenger``."""


class TrainingSettings(BaseModel):
    """Model training defaults (each overridable on the command line)."""

    trials: int = Field(30, ge=1)
    """Optuna trials per model family."""
    timeout_seconds: float | None = None
    """Stop tuning after this long, whatever the trial count."""
    seed: int = 0
    """Seed for splits, samplers and models."""
    repeats: int = Field(1, ge=1)
    """Fleet splits to train and score (seeds ``seed`` ..); over 1, the metrics' spread is reported too."""
    train_fraction: float = Field(0.6, gt=0, lt=1)
    """Share of each host's timeline (earliest part) used for training."""
    validation_fraction: float = Field(0.2, gt=0, lt=1)
    """Share after it used for validation (early stopping, calibration, threshold); the rest is test."""


class Settings(BaseSettings):
    """All analytics settings."""

    model_config = SettingsConfigDict(env_prefix="CLOUDSENSE_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path(".cloudsense")
    """Local state: the lake, features, the MLflow store (embedded default)."""
    label: LabelSettings = LabelSettings()
    spark: SparkSettings = SparkSettings()
    mlflow: MlflowSettings = MlflowSettings()
    training: TrainingSettings = TrainingSettings()

    def mlflow_tracking_uri(self) -> str:
        """The configured tracking URI, or the embedded SQLite store under ``data_dir``."""
        if self.mlflow.tracking_uri:
            return self.mlflow.tracking_uri
        return f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"

    def mlflow_artifact_location(self) -> str:
        """The configured artifact location, or ``<data_dir>/mlartifacts``."""
        if self.mlflow.artifact_location:
            return self.mlflow.artifact_location
        return (self.data_dir / "mlartifacts").resolve().as_uri()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
