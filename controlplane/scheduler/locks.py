"""Postgres advisory locks for jobs (on SQLite there is one node: always granted)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["job_lock", "lock_key"]


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def job_lock(session: AsyncSession, name: str) -> bool:
    """Take the job's transaction-scoped lock without waiting.

    Returns:
        Whether this transaction holds it (released at commit or rollback).
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    granted = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key(name)})
    return bool(granted)
