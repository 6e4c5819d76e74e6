"""Response bodies of the hosts endpoints."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import msgspec

__all__ = ["HostDetail", "HostList", "HostStatus", "HostSummary"]


class HostStatus(enum.StrEnum):
    """Derived from ``last_seen`` against ``hosts.stale_after_seconds`` / ``down_after_seconds``.

    A host that never sent a batch is ``pending`` for ``down_after_seconds`` after it enrolled (an agent
    starting up, like a Prometheus target before its first scrape), then ``down``.
    """

    UP = "up"
    STALE = "stale"
    DOWN = "down"
    PENDING = "pending"


class HostSummary(msgspec.Struct, kw_only=True):
    """One row of the hosts list."""

    host_id: str
    """Stable identity."""
    status: HostStatus
    """up, stale, down, or pending (enrolled, no batch yet)."""
    role: str | None
    """Role label from the host's facts."""
    hostname: str | None
    """The host's own name from its facts."""
    agent_version: str | None
    """Version of the agent that sent the last batch."""
    last_seen: datetime | None
    """Last accepted batch (server clock)."""
    latest_ts: datetime | None
    """Time of the newest sample."""
    latest: dict[str, Any] | None
    """The newest sample's metrics (name -> value)."""


class HostList(msgspec.Struct, kw_only=True):
    """A page of hosts."""

    items: list[HostSummary]
    """The hosts on this page."""
    total: int
    """Hosts matching the filters, all pages."""
    limit: int
    """Page size asked for."""
    offset: int
    """Position of the first item."""


class HostDetail(HostSummary, kw_only=True):
    """One host in full."""

    created_at: datetime
    """When the control plane first heard of the host."""
    enrolled_at: datetime | None
    """Last enrollment."""
    first_seen: datetime | None
    """First accepted batch."""
    epoch: int | None
    """Spool epoch of the last batch."""
    spool_dropped_total: int
    """Samples the agent's spool dropped in this epoch (cap reached)."""
    facts: dict[str, Any] | None
    """Last reported host facts (cores, memory, OS...)."""
