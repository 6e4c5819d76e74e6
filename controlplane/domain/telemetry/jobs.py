"""Scheduled jobs of the telemetry context (idempotent; each opens its own session scope)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from controlplane.domain.telemetry.partitions import MaintenanceReport, maintain
from controlplane.scheduler.locks import job_lock

if TYPE_CHECKING:
    from controlplane.db.session import Database
    from controlplane.settings import Settings

__all__ = ["maintain_partitions"]


async def maintain_partitions(database: Database, settings: Settings) -> MaintenanceReport | None:
    """Create telemetry partitions ahead and drop those past retention.

    Returns:
        The report, or ``None`` when another process holds the job's lock.
    """
    async with database.session_scope() as session:
        if not await job_lock(session, "telemetry.maintain_partitions"):
            return None
        return await maintain(
            session,
            retention_days=settings.telemetry.retention_days,
            ahead_days=settings.telemetry.partitions_ahead_days,
        )
