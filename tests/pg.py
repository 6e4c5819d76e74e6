"""Throwaway Postgres databases for tests: created on the server named by ``CLOUDSENSE_TEST_DATABASE_URL``.

That URL is an *admin* URL (default ``postgresql://postgres@127.0.0.1:5432/postgres``): the helpers create
a uniquely named database beside it and drop it afterwards (``WITH (FORCE)``, so lingering connections of
a killed server process do not leave it behind).

Usage::

    async with throwaway_database_async("cloudsense_it") as url:   # async tests / fixtures
        ...
    with throwaway_database("cloudsense_e2e") as url:              # sync code (e2e), any thread
        ...

``url`` is a plain ``postgresql://`` URL; ``controlplane.settings`` adds the asyncpg driver itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import threading
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Iterator

__all__ = [
    "DEFAULT_ADMIN_URL",
    "admin_url",
    "create_database",
    "drop_database",
    "run_sync",
    "throwaway_database",
    "throwaway_database_async",
]

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def admin_url() -> str:
    """The admin URL from ``CLOUDSENSE_TEST_DATABASE_URL`` (or the default)."""
    return os.environ.get("CLOUDSENSE_TEST_DATABASE_URL") or DEFAULT_ADMIN_URL


def _plain(url: str) -> str:
    """asyncpg wants ``postgresql://`` without a SQLAlchemy driver suffix."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return make_url(_plain(url)).set(database=name).render_as_string(hide_password=False)


async def _admin_execute(admin: str, statement: str) -> None:
    try:
        connection = await asyncpg.connect(_plain(admin), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"cannot reach the test Postgres server at {make_url(admin).render_as_string()} ({exc}); "
            "start it or set CLOUDSENSE_TEST_DATABASE_URL"
        ) from exc
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def create_database(prefix: str = "cloudsense_test", admin: str | None = None) -> str:
    """Create an empty, uniquely named database.

    Args:
        prefix: Start of the name (lowercase letters, digits, underscores).
        admin: Admin URL (default :func:`admin_url`).

    Returns:
        The new database's ``postgresql://`` URL.
    """
    admin = admin or admin_url()
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    if not _NAME.match(name):
        raise ValueError(f"bad database name {name!r}")
    await _admin_execute(admin, f'CREATE DATABASE "{name}"')
    return _with_database(admin, name)


async def drop_database(url: str, admin: str | None = None) -> None:
    """Drop a database made by :func:`create_database`, disconnecting its clients."""
    name = make_url(url).database or ""
    if not _NAME.match(name):
        raise ValueError(f"refusing to drop {name!r}")
    await _admin_execute(admin or admin_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def throwaway_database_async(prefix: str = "cloudsense_test") -> AsyncIterator[str]:
    """A database for the duration of the block (async form)."""
    url = await create_database(prefix)
    try:
        yield url
    finally:
        await drop_database(url)


def run_sync(awaitable: Awaitable[Any]) -> Any:
    """Run a coroutine to completion from sync code, even when this thread already runs a loop."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(awaitable)  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target, name="tests-pg")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


@contextlib.contextmanager
def throwaway_database(prefix: str = "cloudsense_test") -> Iterator[str]:
    """A database for the duration of the block (sync form, usable from any thread)."""
    url: str = run_sync(create_database(prefix))
    try:
        yield url
    finally:
        run_sync(drop_database(url))
