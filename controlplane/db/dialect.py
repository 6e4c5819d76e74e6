"""The dialect-specific ``INSERT`` (with ``ON CONFLICT``) for the session's database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects import postgresql, sqlite

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["dialect_name", "upsert_insert"]


def dialect_name(session: AsyncSession) -> str:
    """``postgresql`` or ``sqlite``."""
    return session.get_bind().dialect.name


def upsert_insert(session: AsyncSession, table: Any) -> Any:
    """``insert(table)`` of the session's dialect, which has ``on_conflict_do_nothing/do_update``.

    Args:
        session: Decides the dialect.
        table: Table or mapped class.

    Returns:
        A Postgres or SQLite ``Insert`` construct.
    """
    if dialect_name(session) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
