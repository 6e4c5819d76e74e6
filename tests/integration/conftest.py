"""Integration fixtures: one throwaway Postgres database per run (migrated with Alembic), apps and clients.

* ``pg_url`` / ``pg_settings``: the run's database, upgraded to head once (the migrations are under test).
* ``clean_pg``: truncates every table before a test that commits (HTTP tests, jobs).
* ``db_session``: a session inside an outer transaction rolled back at the end (savepoints for commits).
* ``client`` / ``make_client``: Litestar's ``AsyncTestClient`` on ``create_app`` against the real database.
* ``live_server``: the same app under uvicorn on loopback, for tests that need real concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cp_helpers import settings_for
from litestar.testing import AsyncTestClient
from pg import create_database, drop_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from controlplane.app import create_app
from controlplane.db import migrate
from controlplane.db.session import Database
from controlplane.domain.auth.tokens import Role
from controlplane.provision import create_api_token
from controlplane.settings import Settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

HERE = Path(__file__).parent
TABLES = ("telemetry", "host", "api_token", "enrollment_token")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The control-plane tests in this folder talk to the real Postgres: mark them ``integration``."""
    for item in items:
        if Path(str(item.path)).parent == HERE:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    """The run's database, migrated to head with Alembic."""
    url = await create_database("cloudsense_it")
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        yield url
    finally:
        await drop_database(url)


@pytest.fixture(scope="session")
def pg_settings(pg_url: str) -> Settings:
    """Settings on the run's database (scheduler off)."""
    return settings_for(pg_url)


@pytest.fixture(scope="session")
async def pg(pg_settings: Settings) -> AsyncIterator[Database]:
    """An engine on the run's database, in the tests' own event loop (for arranging and asserting)."""
    database = Database(pg_settings.db)
    yield database
    await database.dispose()


@pytest.fixture
async def clean_pg(pg: Database) -> Database:
    """Empty every table (for tests whose code under test commits)."""
    async with pg.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {', '.join(TABLES)}"))
    return pg


@pytest.fixture
async def db_session(pg: Database) -> AsyncIterator[AsyncSession]:
    """A session in an outer transaction that is rolled back: commits inside become savepoints."""
    async with pg.engine.connect() as connection:
        outer = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()


@pytest.fixture
async def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings on a fresh SQLite file migrated to head (the embedded default's path)."""
    url = f"sqlite:///{tmp_path / 'cloudsense.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    return settings_for(url)


@pytest.fixture
def make_client() -> Callable[[Settings], contextlib.AbstractAsyncContextManager[AsyncTestClient[Any]]]:
    """``async with make_client(settings) as client``: an ``AsyncTestClient`` on a fresh app."""

    @contextlib.asynccontextmanager
    async def factory(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
        async with AsyncTestClient(app=create_app(settings), raise_server_exceptions=False) as client:
            yield client

    return factory


@pytest.fixture
async def client(
    clean_pg: Database,
    pg_settings: Settings,
    make_client: Callable[[Settings], contextlib.AbstractAsyncContextManager[AsyncTestClient[Any]]],
) -> AsyncIterator[AsyncTestClient[Any]]:
    """A client on the run's (emptied) database."""
    async with make_client(pg_settings) as test_client:
        yield test_client


@pytest.fixture
async def tokens(clean_pg: Database) -> dict[str, str]:
    """Bearer tokens by name: admin, operator, viewer, and ``agent`` bound to host ``web-1``."""
    issued = {
        "admin": await create_api_token(clean_pg, Role.ADMIN),
        "operator": await create_api_token(clean_pg, Role.OPERATOR),
        "viewer": await create_api_token(clean_pg, Role.VIEWER),
        "agent": await create_api_token(clean_pg, Role.AGENT, host_id="web-1"),
    }
    return {name: token.token for name, token in issued.items()}
