"""``/health`` (liveness, no I/O), ``/ready`` (database and schema), ``/metrics`` (Prometheus; a bearer token
when ``server.metrics_token`` is set)."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from controlplane.db.migrate import is_at_head
from controlplane.db.session import Database
from controlplane.domain.hosts.services import count_by_status
from controlplane.errors import NotAuthenticated, Unavailable
from controlplane.metrics import HOSTS, MIGRATIONS_AT_HEAD
from controlplane.openapi import problems
from controlplane.settings import Settings

__all__ = ["Health", "SystemController"]

log = structlog.get_logger()


class Health(msgspec.Struct):
    """Liveness or readiness."""

    status: str
    """``ok``."""


def _check_metrics_token(request: Request[Any, Any, Any], settings: Settings) -> None:
    """Refuse a scrape without the configured bearer token (constant-time comparison)."""
    expected = settings.server.metrics_token
    if expected is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise NotAuthenticated(
            "GET /metrics needs 'Authorization: Bearer <token>' (server.metrics_token is set)", error=None
        )
    if not hmac.compare_digest(given.strip().encode(), expected.get_secret_value().encode()):
        raise NotAuthenticated("the metrics token is not the one configured (server.metrics_token)")


class SystemController(Controller):
    """Probes and metrics: the probes unauthenticated, the metrics behind a bearer token if one is set."""

    tags = ["system"]

    @get("/health", operation_id="GetHealth")
    async def health(self) -> Health:
        """The process is alive (touches nothing else)."""
        return Health(status="ok")

    @get("/ready", operation_id="GetReadiness", responses=problems(503))
    async def ready(self, database: NamedDependency[Database]) -> Health:
        """The database answers and its schema is at this code's head revision; 503 otherwise."""
        try:
            async with database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                at_head = await is_at_head(connection)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("not_ready", reason="database_unreachable", error=type(exc).__name__)
            raise Unavailable("the database is unreachable") from exc
        if not at_head:
            raise Unavailable("the database schema is not at the head revision; run 'cloudsense db upgrade'")
        return Health(status="ok")

    @get("/metrics", operation_id="GetMetrics", media_type=CONTENT_TYPE_LATEST, responses=problems(401))
    async def metrics(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
    ) -> Response[bytes]:
        """Prometheus text exposition; host and schema gauges are refreshed first (best effort)."""
        _check_metrics_token(request, settings)
        try:
            async with database.session_scope() as session:
                counts = await count_by_status(session, now=datetime.now(UTC), settings=settings.hosts)
                connection = await session.connection()
                MIGRATIONS_AT_HEAD.set(1 if await is_at_head(connection) else 0)
            for status, count in counts.items():
                HOSTS.labels(status.value).set(count)
        except (SQLAlchemyError, OSError) as exc:
            MIGRATIONS_AT_HEAD.set(0)
            log.warning("metrics_refresh_failed", error=type(exc).__name__)
        # The type as a header: given only as media_type, Litestar appends a second "; charset=utf-8" to a
        # text/* type, and a media type with a repeated parameter is malformed (Prometheus 3 refuses it).
        return Response(
            generate_latest(REGISTRY),
            media_type=CONTENT_TYPE_LATEST,
            headers={"content-type": CONTENT_TYPE_LATEST},
        )
