"""``host``: one row per host that enrolled or sent telemetry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.db.base import Base
from controlplane.db.types import JsonDoc, UTCDateTime

__all__ = ["Host"]


class Host(Base):
    """A host of the fleet: identity, facts, and its most recent sample."""

    __tablename__ = "host"

    host_id: Mapped[str] = mapped_column(String(253), primary_key=True)
    """The agent's stable identity (``agent.wire.HOST_ID_PATTERN``)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """When the control plane first heard of the host (enrollment or first batch)."""
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Last enrollment (``None``: data written with an operator credential only)."""
    first_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """First accepted batch."""
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    """Last accepted batch (server clock): the status (up/stale/down) derives from it."""
    agent_version: Mapped[str | None] = mapped_column(String(64))
    """Version of the agent that sent the last batch."""
    epoch: Mapped[int | None] = mapped_column(BigInteger)
    """Spool epoch of the last batch."""
    spool_dropped_total: Mapped[int] = mapped_column(BigInteger, default=0)
    """Samples the agent's spool dropped in ``epoch`` (cumulative, as reported)."""
    facts: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    """Last reported ``agent.wire.HostFacts``."""
    role: Mapped[str | None] = mapped_column(String(64), index=True)
    """``facts.role`` (web, db, batch...), kept as a column to filter on."""
    hostname: Mapped[str | None] = mapped_column(String(255))
    """``facts.hostname``."""
    latest_ts: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Timestamp of the newest sample received."""
    latest_sample: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    """The newest sample (metric name -> value, plus ``seq`` and ``ts``)."""
