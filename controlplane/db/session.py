"""The process's one engine and session factory, built from settings.

SQLite is made safe for a concurrent server: WAL journal, a busy timeout, foreign keys on, and every
transaction opened with ``BEGIN IMMEDIATE`` so that a read-then-write transaction takes the write lock up
front instead of failing with ``SQLITE_BUSY`` when it upgrades (the busy handler does not apply then).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from controlplane.metrics import track_engine

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from controlplane.settings import DatabaseSettings

__all__ = ["Database", "create_engine", "safe_url"]


def safe_url(url: str) -> str:
    """The URL with its password masked, fit for logs."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """Build an async engine for the configured URL.

    Args:
        settings: The ``db`` section of the settings.

    Returns:
        The engine (connections open lazily).
    """
    url = make_url(settings.url)
    kwargs: dict[str, Any] = {"echo": settings.echo, "pool_pre_ping": True}
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": settings.sqlite_busy_timeout_seconds}
        engine = create_async_engine(url, **kwargs)
        _make_sqlite_safe(engine, settings.sqlite_busy_timeout_seconds)
    else:
        kwargs.update(
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_timeout=settings.pool_timeout_seconds,
            pool_recycle=3600,
        )
        engine = create_async_engine(url, **kwargs)
    track_engine(engine)
    return engine


def _make_sqlite_safe(engine: AsyncEngine, busy_timeout_seconds: float) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine plus its session factory; ``session_scope()`` for jobs and commands."""

    def __init__(self, settings: DatabaseSettings) -> None:
        """Create the engine (no connection is opened yet).

        Args:
            settings: The ``db`` section of the settings.
        """
        self.settings = settings
        self.engine = create_engine(settings)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, class_=AsyncSession)

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def session_scope(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block succeeds and rolls back when it raises.

        Yields:
            The session.
        """
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
