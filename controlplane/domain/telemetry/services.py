"""Ingest one batch: authorise the host, lock its row, store the samples, update the row, COMMIT."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from agent.wire import IngestResult
from controlplane.domain.auth.tokens import Role
from controlplane.domain.hosts.services import apply_batch, lock_host
from controlplane.domain.telemetry.rejections import reject
from controlplane.domain.telemetry.store import insert_samples
from controlplane.errors import PermissionDenied
from controlplane.metrics import AGENT_SPOOL_DROPPED, INGEST_BATCHES, INGEST_DUPLICATES, INGEST_SAMPLES

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from agent.wire import Batch
    from controlplane.domain.auth.services import Principal

__all__ = ["authorise_write", "ingest_batch"]

log = structlog.get_logger()


def authorise_write(principal: Principal, host_id: str) -> None:
    """An agent credential writes its own host only; operators and admins write any.

    Raises:
        PermissionDenied: Another host's data, or a role that may not write.
    """
    if principal.role is Role.AGENT:
        if principal.host_id != host_id:
            raise reject(
                "forbidden_host",
                PermissionDenied(
                    f"this agent credential may write host {principal.host_id!r} only, not {host_id!r}"
                ),
            )
    elif not principal.role.at_least(Role.OPERATOR):
        raise reject("forbidden_host", PermissionDenied(f"role {principal.role} may not write telemetry"))


async def ingest_batch(
    session: AsyncSession, batch: Batch, principal: Principal, now: datetime
) -> IngestResult:
    """Store a validated batch idempotently and commit; the result is only returned once committed.

    Args:
        session: The request's session (committed here: a 2xx must mean durable).
        batch: A batch that passed ``decode_and_validate``.
        principal: Who sent it.
        now: Server time of receipt.

    Returns:
        How many samples were new and how many were already stored.
    """
    authorise_write(principal, batch.host_id)
    host = await lock_host(session, batch.host_id, now)
    accepted = await insert_samples(session, batch, now)
    dropped = apply_batch(host, batch, now)
    await session.commit()
    duplicates = len(batch.samples) - accepted
    INGEST_BATCHES.inc()
    INGEST_SAMPLES.inc(accepted)
    INGEST_DUPLICATES.inc(duplicates)
    AGENT_SPOOL_DROPPED.inc(dropped)
    log.debug("batch_ingested", host_id=batch.host_id, accepted=accepted, duplicates=duplicates)
    if dropped:
        log.warning("agent_spool_dropped", host_id=batch.host_id, dropped=dropped)
    return IngestResult(host_id=batch.host_id, epoch=batch.epoch, accepted=accepted, duplicates=duplicates)
