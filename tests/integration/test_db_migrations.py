"""Alembic: upgrade -> downgrade -> upgrade on Postgres and SQLite, no model/migration drift, file names."""

from __future__ import annotations

import asyncio
import re
from importlib.resources import files

from alembic import command
from alembic.script import ScriptDirectory
from pg import throwaway_database_async
from sqlalchemy import inspect

from controlplane.db import migrate
from controlplane.db.session import Database
from controlplane.settings import DatabaseSettings

TABLES = {"alembic_version", "api_token", "enrollment_token", "host", "telemetry"}


async def table_names(url: str) -> set[str]:
    database = Database(DatabaseSettings(url=url))
    try:
        async with database.engine.connect() as connection:
            names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            at_head = await migrate.is_at_head(connection)
    finally:
        await database.dispose()
    return {n for n in names if not n.startswith("telemetry_")} | ({"<head>"} if at_head else set())


async def round_trip(url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, url)
    assert await table_names(url) == TABLES | {"<head>"}
    # `alembic check`: autogenerate finds no difference between the models and the migrated schema.
    await asyncio.to_thread(command.check, migrate.alembic_config(url))
    await asyncio.to_thread(migrate.downgrade, url, "base")
    assert await table_names(url) == {"alembic_version"}
    await asyncio.to_thread(migrate.upgrade, url)
    assert await table_names(url) == TABLES | {"<head>"}
    await asyncio.to_thread(migrate.downgrade, url, "-1")
    assert "telemetry" not in await table_names(url)


async def test_round_trip_on_postgres() -> None:
    async with throwaway_database_async("cloudsense_mig") as url:
        await round_trip(url)


async def test_round_trip_on_sqlite(tmp_path) -> None:
    await round_trip(f"sqlite:///{tmp_path / 'm.db'}")


async def test_upgrading_twice_is_a_no_op(pg_url) -> None:
    await asyncio.to_thread(migrate.upgrade, pg_url)
    assert await table_names(pg_url) >= TABLES | {"<head>"}


def test_revision_files_follow_the_naming_rule_and_have_one_head() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(script.get_heads()) == 1
    versions = files("migrations") / "versions"
    names = [p.name for p in versions.iterdir() if p.name.endswith(".py") and p.name != "__init__.py"]
    assert names
    for name in names:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_[a-z0-9_]+_[0-9a-f]{12}\.py", name), name
