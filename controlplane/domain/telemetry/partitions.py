"""Telemetry retention: daily ``RANGE (ts)`` partitions on Postgres, a ``DELETE`` on SQLite.

Postgres: partitions ``telemetry_pYYYYMMDD`` cover ``[day, day + 1)`` UTC; ``telemetry_default`` catches
anything else. Creating a partition while the default one holds rows of its range would fail, so rows are
first moved out of the default partition, then the new table is attached (one transaction). Dropping a day
is ``DROP TABLE`` of its partition: O(1), no vacuum debt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast

import structlog
from sqlalchemy import CursorResult, delete, text

from controlplane.db.models import telemetry

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["MaintenanceReport", "maintain", "partition_name"]

log = structlog.get_logger()
_PARTITION = re.compile(r"^telemetry_p(\d{8})$")


@dataclass
class MaintenanceReport:
    """What one maintenance pass did."""

    created: list[str] = field(default_factory=list)
    """Partitions created."""
    dropped: list[str] = field(default_factory=list)
    """Partitions dropped."""
    moved_rows: int = 0
    """Rows moved out of the default partition into a new one."""
    deleted_rows: int = 0
    """Rows deleted (SQLite, or stragglers in the default partition)."""


async def _execute(session: AsyncSession, statement: Any, params: Any = None) -> CursorResult[Any]:
    return cast("CursorResult[Any]", await session.execute(statement, params))


def partition_name(day: date) -> str:
    """``telemetry_pYYYYMMDD``."""
    return f"telemetry_p{day:%Y%m%d}"


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def _existing_partitions(session: AsyncSession) -> dict[date, str]:
    rows = await session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'telemetry'::regclass"
        )
    )
    found = {}
    for (name,) in rows:
        if match := _PARTITION.match(name):
            found[datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=UTC).date()] = name
    return found


async def _create_partition(session: AsyncSession, day: date) -> int:
    name, lower, upper = partition_name(day), _start(day), _start(day + timedelta(days=1))
    bounds = {"lower": lower, "upper": upper}
    # No row may reach the default partition between the move and the attach (ATTACH would then fail).
    await session.execute(text("LOCK TABLE telemetry_default IN EXCLUSIVE MODE"))
    await session.execute(
        text(f"CREATE TABLE {name} (LIKE telemetry INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    )
    moved = await _execute(
        session,
        text(
            f"WITH moved AS (DELETE FROM telemetry_default WHERE ts >= :lower AND ts < :upper RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved"
        ),
        bounds,
    )
    # Bounds are rendered literally: DDL takes no parameters (the values are computed, never user input).
    await session.execute(
        text(
            f"ALTER TABLE telemetry ATTACH PARTITION {name} "
            f"FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"
        )
    )
    return int(moved.rowcount or 0)


async def maintain(
    session: AsyncSession, *, retention_days: int, ahead_days: int, now: datetime | None = None
) -> MaintenanceReport:
    """Create the partitions of the retention window and ``ahead_days`` ahead; drop those past retention.

    Idempotent. On SQLite, deletes rows older than the retention instead.

    Args:
        session: Session (the caller commits).
        retention_days: Days of telemetry kept (today included).
        ahead_days: Days created ahead of today.
        now: Reference time (default: now).

    Returns:
        What was done.
    """
    now = now or datetime.now(UTC)
    today = now.astimezone(UTC).date()
    oldest_kept = today - timedelta(days=retention_days - 1)
    report = MaintenanceReport()
    if session.get_bind().dialect.name != "postgresql":
        result = await _execute(session, delete(telemetry).where(telemetry.c.ts < _start(oldest_kept)))
        report.deleted_rows = int(result.rowcount or 0)
        return report

    existing = await _existing_partitions(session)
    for offset in range((today - oldest_kept).days + ahead_days + 1):
        day = oldest_kept + timedelta(days=offset)
        if day not in existing:
            report.moved_rows += await _create_partition(session, day)
            report.created.append(partition_name(day))
    for day, name in sorted(existing.items()):
        if day < oldest_kept:
            await session.execute(text(f"DROP TABLE {name}"))
            report.dropped.append(name)
    stale = await _execute(
        session, text("DELETE FROM telemetry_default WHERE ts < :cutoff"), {"cutoff": _start(oldest_kept)}
    )
    report.deleted_rows = int(stale.rowcount or 0)
    log.info(
        "telemetry_partitions_maintained",
        created=len(report.created),
        dropped=len(report.dropped),
        moved_rows=report.moved_rows,
        deleted_rows=report.deleted_rows,
    )
    return report
