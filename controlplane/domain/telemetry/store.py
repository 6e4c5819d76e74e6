"""Bulk, idempotent writes of samples: the Postgres COPY fast path and the SQLite path.

Postgres: ``COPY`` (binary, asyncpg ``copy_records_to_table``) into a per-connection temporary staging
table, then ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` into ``telemetry``; the statement's row count
is the number of new samples, the rest are duplicates (replays). SQLite: ``executemany`` of
``INSERT OR IGNORE``. Both run inside the caller's transaction; the caller commits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from agent.wire import METRIC_NAMES
from controlplane.db.models import TELEMETRY_COLUMNS, telemetry

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from agent.wire import Batch

__all__ = ["insert_samples"]

_metrics_of = attrgetter(*METRIC_NAMES)
_COLUMN_LIST = ", ".join(TELEMETRY_COLUMNS)
_CREATE_STAGING = text(
    "CREATE TEMPORARY TABLE IF NOT EXISTS telemetry_staging "
    "(LIKE telemetry INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_MERGE_STAGING = text(
    f"INSERT INTO telemetry ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM telemetry_staging "
    "ON CONFLICT DO NOTHING"
)
_json = msgspec.json.Encoder()


def _records(batch: Batch, received_at: datetime, *, mounts_as_text: bool) -> list[tuple[Any, ...]]:
    host_id, epoch = batch.host_id, batch.epoch
    fromts = datetime.fromtimestamp
    rows = []
    for s in batch.samples:
        mounts: Any = s.mounts
        if mounts is not None and mounts_as_text:
            mounts = _json.encode(mounts).decode()
        rows.append((host_id, epoch, s.seq, fromts(s.ts, UTC), *_metrics_of(s), mounts, received_at))
    return rows


async def insert_samples(session: AsyncSession, batch: Batch, received_at: datetime) -> int:
    """Insert the batch's samples, skipping those already stored.

    Args:
        session: Session whose transaction the rows join (not committed here).
        batch: A validated batch.
        received_at: Server time of receipt, stored with every row.

    Returns:
        How many samples were new.
    """
    if not batch.samples:
        return 0
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(_CREATE_STAGING)  # also begins the transaction COPY joins
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table(
            "telemetry_staging",
            records=_records(batch, received_at, mounts_as_text=True),
            columns=TELEMETRY_COLUMNS,
        )
        result = await connection.execute(_MERGE_STAGING)
        return int(result.rowcount)
    rows = [
        dict(zip(TELEMETRY_COLUMNS, r, strict=True))
        for r in _records(batch, received_at, mounts_as_text=False)
    ]
    result = await connection.execute(sqlite_insert(telemetry).on_conflict_do_nothing(), rows)
    return int(result.rowcount)
