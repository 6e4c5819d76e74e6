"""Downsampled reads: per-bucket averages computed in the database (one ``GROUP BY`` query)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, cast, func, literal_column, select

from agent.wire import METRIC_NAMES
from controlplane.db.models import Host, telemetry
from controlplane.domain.telemetry.schemas import TelemetryPoint, TelemetrySeries
from controlplane.errors import NotFound, Unprocessable

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from controlplane.settings import TelemetrySettings

__all__ = ["DEFAULT_RANGE", "downsample", "resolve_range"]

DEFAULT_RANGE = timedelta(hours=1)


def resolve_range(
    since: datetime | None,
    until: datetime | None,
    step_seconds: int | None,
    *,
    now: datetime,
    settings: TelemetrySettings,
) -> tuple[datetime, datetime, int]:
    """Fill in defaults and check the range and the number of buckets.

    Raises:
        Unprocessable: ``since`` not before ``until``, or more buckets than ``max_points``.
    """
    try:
        until = _aware(until) if until is not None else now
        since = _aware(since) if since is not None else until - DEFAULT_RANGE
    except (OverflowError, ValueError) as exc:
        raise Unprocessable(f"since/until out of range: {exc}") from exc
    if since >= until:
        raise Unprocessable(f"since ({since.isoformat()}) must be before until ({until.isoformat()})")
    span = (until - since).total_seconds()
    if step_seconds is None:
        step_seconds = max(1, math.ceil(span / settings.default_points))
    buckets = math.ceil(span / step_seconds)
    if buckets > settings.max_points:
        raise Unprocessable(
            f"{buckets} buckets requested; at most {settings.max_points}: raise step or narrow the range"
        )
    return since, until, step_seconds


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def downsample(
    session: AsyncSession, host_id: str, since: datetime, until: datetime, step_seconds: int
) -> TelemetrySeries:
    """Average every metric per ``step_seconds`` bucket of ``[since, until)``.

    Raises:
        NotFound: No such host.
    """
    if await session.get(Host, host_id) is None:
        raise NotFound(f"no host {host_id!r}")
    step: Any = literal_column(str(int(step_seconds)))  # an int: safe to inline, and equal in GROUP BY
    if session.get_bind().dialect.name == "postgresql":
        epoch: Any = func.extract("epoch", telemetry.c.ts)
        bucket = func.floor(epoch / step) * step
    else:  # SQLite stores UTC text. Whole seconds are exact (julianday() is not), and with an integer
        # step floor(t / step) == floor(floor(t) / step): integer division is the exact bucket.
        seconds = cast(func.strftime("%s", telemetry.c.ts), Integer)
        bucket = seconds.op("/")(step) * step  # raw "/": integer division in SQLite
    bucket = bucket.label("bucket")
    query = (
        select(
            bucket, func.count().label("samples"), *(func.avg(telemetry.c[m]).label(m) for m in METRIC_NAMES)
        )
        .where(telemetry.c.host_id == host_id, telemetry.c.ts >= since, telemetry.c.ts < until)
        .group_by(literal_column("1"))
        .order_by(literal_column("1"))
    )
    rows = (await session.execute(query)).mappings().all()
    points = [
        TelemetryPoint(
            ts=float(row["bucket"]),
            samples=int(row["samples"]),
            **{m: (None if row[m] is None else float(row[m])) for m in METRIC_NAMES},
        )
        for row in rows
    ]
    return TelemetrySeries(
        host_id=host_id, since=since, until=until, step_seconds=step_seconds, points=points
    )
