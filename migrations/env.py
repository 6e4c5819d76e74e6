"""Alembic environment (async template): the URL comes from settings, the target is ``controlplane.db``.

Callers may pass ``config.attributes["url"]`` (tests, ``cloudsense db``) or an open synchronous
``config.attributes["connection"]``; otherwise the URL is ``get_settings().db.url``. On Postgres the run
holds a session advisory lock, so replicas upgrading at once apply each revision exactly once.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from alembic import context
from sqlalchemy import text

import controlplane.db.models  # noqa: F401  (registers every table on the metadata)
from controlplane.db.base import metadata
from controlplane.db.session import create_engine
from controlplane.settings import DatabaseSettings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

config = context.config
target_metadata = metadata
MIGRATION_LOCK_KEY = 0x436C6F7564436D67  # "CloudCmg"

# Tables that exist in the database but not in the models on purpose: telemetry partitions (created
# by the maintenance job), the ingest staging table, APScheduler's job store if one is ever used.
_UNMANAGED = re.compile(r"^(telemetry_default|telemetry_p\d{8}|telemetry_staging|apscheduler_jobs)$")


def _include_name(name: str | None, type_: str, _parent: dict[str, Any]) -> bool:
    return not (type_ == "table" and name is not None and _UNMANAGED.match(name))


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    return DatabaseSettings(url=url).url if url else get_settings().db.url


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade --sql``)."""
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Run the migrations on an open connection."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()  # the session-level lock outlives this transaction
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=_include_name,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    try:
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()


async def run_async_migrations() -> None:
    """Open an async engine on the URL and run the migrations through it."""
    engine = create_engine(DatabaseSettings(url=_url()))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    """Run the migrations against the database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
