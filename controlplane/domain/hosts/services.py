"""Host rows: created on enrollment or first batch, updated by every batch, listed and read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import and_, func, or_, select

from controlplane.db.dialect import upsert_insert
from controlplane.db.models import Host
from controlplane.domain.hosts.schemas import HostDetail, HostList, HostStatus, HostSummary
from controlplane.errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.sql.elements import ColumnElement

    from agent.wire import Batch, HostFacts
    from controlplane.settings import HostSettings

__all__ = [
    "SORT_KEYS",
    "apply_batch",
    "count_by_status",
    "get_host",
    "host_status",
    "list_hosts",
    "lock_host",
    "record_enrollment",
]

SORT_KEYS = {
    "host_id": Host.host_id,
    "last_seen": Host.last_seen,
    "role": Host.role,
    "hostname": Host.hostname,
}


def host_status(
    last_seen: datetime | None, now: datetime, settings: HostSettings, *, enrolled: datetime | None = None
) -> HostStatus:
    """up / stale / down from the age of the last batch; never seen: pending if it enrolled lately, else down.

    Args:
        last_seen: The last accepted batch.
        now: The server clock.
        settings: The thresholds.
        enrolled: When the host last enrolled (or was first heard of).
    """
    if last_seen is None:
        if enrolled is not None and (now - enrolled).total_seconds() < settings.down_after_seconds:
            return HostStatus.PENDING
        return HostStatus.DOWN
    age = (now - last_seen).total_seconds()
    if age < settings.stale_after_seconds:
        return HostStatus.UP
    if age < settings.down_after_seconds:
        return HostStatus.STALE
    return HostStatus.DOWN


def _status_filter(status: HostStatus, now: datetime, settings: HostSettings) -> ColumnElement[bool]:
    stale_at = now - timedelta(seconds=settings.stale_after_seconds)
    down_at = now - timedelta(seconds=settings.down_after_seconds)
    if status is HostStatus.UP:
        return Host.last_seen > stale_at
    if status is HostStatus.STALE:
        return and_(Host.last_seen <= stale_at, Host.last_seen > down_at)
    enrolled = func.coalesce(Host.enrolled_at, Host.created_at)
    if status is HostStatus.PENDING:
        return and_(Host.last_seen.is_(None), enrolled > down_at)
    return or_(and_(Host.last_seen.is_(None), enrolled <= down_at), Host.last_seen <= down_at)


async def lock_host(session: AsyncSession, host_id: str, now: datetime) -> Host:
    """The host's row, created if missing, locked until the transaction ends (Postgres ``FOR UPDATE``).

    Locking the host first serialises concurrent batches of one host, so they never deadlock.
    """
    host = await session.get(Host, host_id, with_for_update=True, populate_existing=True)
    if host is None:
        await session.execute(
            upsert_insert(session, Host)
            .values(host_id=host_id, created_at=now, spool_dropped_total=0)
            .on_conflict_do_nothing(index_elements=["host_id"])
        )
        host = await session.get(Host, host_id, with_for_update=True, populate_existing=True)
        assert host is not None
    return host


def _apply_facts(host: Host, facts: HostFacts) -> None:
    host.facts = msgspec.to_builtins(facts)
    host.role = facts.role or None
    host.hostname = facts.hostname or None


async def record_enrollment(
    session: AsyncSession, host_id: str, facts: HostFacts | None, now: datetime
) -> None:
    """Create or update the host's row at enrollment."""
    host = await lock_host(session, host_id, now)
    host.enrolled_at = now
    if facts is not None:
        _apply_facts(host, facts)


def apply_batch(host: Host, batch: Batch, now: datetime) -> int:
    """Update a locked host row from a committed-to-be batch.

    Returns:
        Spool drops newly reported by the agent (for the Prometheus counter).
    """
    if host.epoch == batch.epoch:
        dropped = max(batch.spool_dropped_total - host.spool_dropped_total, 0)
        host.spool_dropped_total = max(host.spool_dropped_total, batch.spool_dropped_total)
    else:  # a new spool incarnation counts from zero
        dropped = batch.spool_dropped_total
        host.spool_dropped_total = batch.spool_dropped_total
    host.epoch = batch.epoch
    host.agent_version = batch.agent_version
    host.last_seen = now
    if host.first_seen is None:
        host.first_seen = now
    if batch.facts is not None:
        _apply_facts(host, batch.facts)
    if batch.samples:
        newest = max(batch.samples, key=lambda s: s.ts)
        newest_at = datetime.fromtimestamp(newest.ts, now.tzinfo)
        if host.latest_ts is None or newest_at > host.latest_ts:
            host.latest_ts = newest_at
            host.latest_sample = msgspec.to_builtins(newest)
    return dropped


def _summary_fields(host: Host, now: datetime, settings: HostSettings) -> dict[str, Any]:
    return {
        "host_id": host.host_id,
        "status": host_status(host.last_seen, now, settings, enrolled=host.enrolled_at or host.created_at),
        "role": host.role,
        "hostname": host.hostname,
        "agent_version": host.agent_version,
        "last_seen": host.last_seen,
        "latest_ts": host.latest_ts,
        "latest": host.latest_sample,
    }


async def list_hosts(
    session: AsyncSession,
    *,
    now: datetime,
    settings: HostSettings,
    status: HostStatus | None = None,
    role: str | None = None,
    search: str | None = None,
    sort: str = "host_id",
    limit: int = 100,
    offset: int = 0,
) -> HostList:
    """A filtered, sorted page of hosts and the total count.

    Args:
        session: Database session.
        now: Reference time of the status.
        settings: Status thresholds.
        status: Only hosts with this status.
        role: Only hosts with this role.
        search: Case-insensitive substring of ``host_id`` or hostname.
        sort: A key of :data:`SORT_KEYS`, ``-`` in front for descending.
        limit: Page size.
        offset: Rows skipped.

    Returns:
        The page.
    """
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        conditions.append(_status_filter(status, now, settings))
    if role is not None:
        conditions.append(Host.role == role)
    if search:
        pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                func.lower(Host.host_id).like(pattern, escape="\\"),
                func.lower(Host.hostname).like(pattern, escape="\\"),
            )
        )
    column = SORT_KEYS[sort.removeprefix("-")]
    order = column.desc().nulls_last() if sort.startswith("-") else column.asc().nulls_last()
    total = await session.scalar(select(func.count()).select_from(Host).where(*conditions))
    rows = await session.scalars(
        select(Host).where(*conditions).order_by(order, Host.host_id).limit(limit).offset(offset)
    )
    items = [HostSummary(**_summary_fields(h, now, settings)) for h in rows]
    return HostList(items=items, total=total or 0, limit=limit, offset=offset)


async def get_host(
    session: AsyncSession, host_id: str, *, now: datetime, settings: HostSettings
) -> HostDetail:
    """One host in full.

    Raises:
        NotFound: No such host.
    """
    host = await session.get(Host, host_id)
    if host is None:
        raise NotFound(f"no host {host_id!r}")
    return HostDetail(
        **_summary_fields(host, now, settings),
        created_at=host.created_at,
        enrolled_at=host.enrolled_at,
        first_seen=host.first_seen,
        epoch=host.epoch,
        spool_dropped_total=host.spool_dropped_total,
        facts=host.facts,
    )


async def count_by_status(
    session: AsyncSession, *, now: datetime, settings: HostSettings
) -> dict[HostStatus, int]:
    """How many hosts are up, stale, down."""
    counts = {}
    for status in HostStatus:
        total = await session.scalar(
            select(func.count()).select_from(Host).where(_status_filter(status, now, settings))
        )
        counts[status] = total or 0
    return counts
