"""The job table: what runs, how often. Later issues add their jobs here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from controlplane.domain.telemetry.jobs import maintain_partitions

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from controlplane.db.session import Database
    from controlplane.settings import Settings

__all__ = ["JobSpec", "jobs"]


@dataclass(frozen=True)
class JobSpec:
    """One recurring job."""

    name: str
    """Stable id (also the job-lock name and the metric label)."""
    func: Callable[[Database, Settings], Awaitable[Any]]
    """Idempotent async function; opens its own session scope."""
    interval_seconds: float
    """Period."""
    run_at_start: bool = True
    """Also run as soon as the scheduler (leader) starts."""


def jobs(settings: Settings) -> list[JobSpec]:
    """Every recurring job, configured from settings."""
    return [
        JobSpec(
            "telemetry.maintain_partitions",
            maintain_partitions,
            settings.scheduler.maintenance_interval_seconds,
        ),
    ]
