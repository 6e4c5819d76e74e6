"""Programmatic building blocks for ``cloudsense demo``, e2e tests and scripts.

Example::

    settings = Settings(db=DatabaseSettings(url="postgresql://..."))
    prepare_database(settings)                       # alembic upgrade head
    admin, enrollment = asyncio.run(bootstrap_tokens(settings, enroll_uses=50))
    # admin.token -> Authorization for the API; enrollment.token -> cloudsense-agent enroll / simulate
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from controlplane.db import migrate
from controlplane.db.session import Database, safe_url
from controlplane.domain.auth import services
from controlplane.domain.auth.tokens import Role

if TYPE_CHECKING:
    from controlplane.domain.auth.services import IssuedEnrollmentToken, IssuedToken
    from controlplane.settings import Settings

__all__ = [
    "SchemaNotAtHead",
    "bootstrap_tokens",
    "create_api_token",
    "create_enrollment_token",
    "ensure_schema",
    "prepare_database",
]


class SchemaNotAtHead(RuntimeError):
    """The database schema is behind (or ahead of) the code and upgrading was not allowed."""


def prepare_database(settings: Settings) -> None:
    """Upgrade the schema to head (synchronous; from async code use ``asyncio.to_thread``)."""
    migrate.upgrade(settings.db.url)


async def _at_head(settings: Settings) -> bool:
    database = Database(settings.db)
    try:
        async with database.engine.connect() as connection:
            return await migrate.is_at_head(connection)
    finally:
        await database.dispose()


def ensure_schema(settings: Settings) -> None:
    """Upgrade to head when ``db.auto_migrate`` is set, else check the schema is at head.

    Raises:
        SchemaNotAtHead: Not at head and auto-migration is off.
        sqlalchemy.exc.SQLAlchemyError: The database is unreachable.
    """
    if settings.db.auto_migrate:
        prepare_database(settings)
        return
    if not asyncio.run(_at_head(settings)):
        raise SchemaNotAtHead(
            f"the schema of {safe_url(settings.db.url)} is not at head; run 'cloudsense db upgrade'"
        )


async def create_api_token(
    database: Database,
    role: Role | str,
    *,
    host_id: str | None = None,
    name: str | None = None,
    ttl_seconds: int | None = None,
) -> IssuedToken:
    """Issue and commit an API credential; ``.token`` is the bearer string."""
    async with database.session_scope() as session:
        return await services.issue_api_token(
            session, Role(role), host_id=host_id, name=name, ttl_seconds=ttl_seconds
        )


async def create_enrollment_token(
    database: Database, *, uses: int = 1, ttl_seconds: int = 3600, name: str | None = None
) -> IssuedEnrollmentToken:
    """Issue and commit an enrollment token valid for ``uses`` enrollments."""
    async with database.session_scope() as session:
        return await services.issue_enrollment_token(session, uses=uses, ttl_seconds=ttl_seconds, name=name)


async def bootstrap_tokens(
    settings: Settings, *, enroll_uses: int = 1, ttl_seconds: int | None = None, name: str = "bootstrap"
) -> tuple[IssuedToken, IssuedEnrollmentToken]:
    """An admin credential and an enrollment token for ``enroll_uses`` hosts (schema must be at head).

    Args:
        settings: Settings naming the database.
        enroll_uses: Hosts the enrollment token may enroll (e.g. the simulated fleet size + 1).
        ttl_seconds: Enrollment token lifetime (default ``auth.enrollment_ttl_seconds``).
        name: Label of both tokens.

    Returns:
        ``(admin, enrollment)``.
    """
    database = Database(settings.db)
    try:
        admin = await create_api_token(database, Role.ADMIN, name=name)
        enrollment = await create_enrollment_token(
            database,
            uses=enroll_uses,
            ttl_seconds=ttl_seconds or settings.auth.enrollment_ttl_seconds,
            name=name,
        )
    finally:
        await database.dispose()
    return admin, enrollment
