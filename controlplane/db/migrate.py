"""Programmatic Alembic: ``upgrade``, ``downgrade``, ``current``, and the head check behind ``/ready``.

The synchronous functions run Alembic's async ``env.py`` (which starts its own event loop): call them
from synchronous code, or through ``asyncio.to_thread`` from async code.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "alembic_config",
    "current_revisions",
    "downgrade",
    "head_revisions",
    "is_at_head",
    "upgrade",
]


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at the packaged ``migrations`` (works from a checkout or a wheel).

    Args:
        url: Database URL; ``None`` means the settings' ``db.url``.

    Returns:
        The configuration.
    """
    config = Config()
    config.set_main_option("script_location", str(files("migrations")))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s_%%(rev)s")
    if url is not None:
        config.attributes["url"] = url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Upgrade the schema to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "-1") -> None:
    """Downgrade the schema to ``revision`` (default: one step)."""
    command.downgrade(alembic_config(url), revision)


@functools.cache
def head_revisions() -> frozenset[str]:
    """The head revision(s) of the code."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _current(connection: Connection) -> frozenset[str]:
    return frozenset(MigrationContext.configure(connection).get_current_heads())


async def current_revisions(connection: AsyncConnection) -> frozenset[str]:
    """The revision(s) the database is at (empty: never migrated)."""
    return await connection.run_sync(_current)


async def is_at_head(connection: AsyncConnection) -> bool:
    """Whether the database schema is at the code's head."""
    return await current_revisions(connection) == head_revisions()
