"""Column types that behave the same on Postgres and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

__all__ = ["JsonDoc", "UTCDateTime"]

JsonDoc = JSON().with_variant(JSONB(), "postgresql")
"""JSON document: ``jsonb`` on Postgres, JSON text on SQLite."""


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in and out: ``timestamptz`` on Postgres, UTC text on SQLite.

    Naive datetimes are refused on the way in (they are a bug); values read back are always aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC (and drop the zone on SQLite, which stores text)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: CloudSense stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Read back as aware UTC."""
        if value is None:
            return None
        stored: datetime = value
        return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)
