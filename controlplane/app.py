"""``create_app()``: the control plane's Litestar application."""

from __future__ import annotations

import contextlib
import re
import uuid
from typing import TYPE_CHECKING

import structlog
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.problem_details import ProblemDetailsPlugin
from litestar.plugins.prometheus import PrometheusConfig

from controlplane.db.session import Database
from controlplane.domain.auth.controllers import EnrollController, TokenController
from controlplane.domain.hosts.controllers import HostController
from controlplane.domain.system.controllers import SystemController
from controlplane.domain.telemetry.controllers import TelemetryController
from controlplane.domain.telemetry.limiter import IngestLimiter
from controlplane.errors import problem_details_config, route_miss_handlers
from controlplane.settings import Settings, get_settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["create_app"]

log = structlog.get_logger()
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware(ASGIMiddleware):
    """Bind ``request_id`` (the caller's ``X-Request-ID`` if sane, else a new one) to every log line."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Bind the id, run the request, echo the id in the response."""
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id
            await send(message)

        await next_app(scope, receive, send_with_id)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Litestar:
    """Build the application.

    Args:
        settings: Defaults to ``get_settings()`` (the environment).
        database: An existing engine holder to share; by default one is built from ``settings.db``.

    Returns:
        The Litestar app. Its lifespan starts the embedded scheduler when ``settings.scheduler.enabled``.
    """
    settings = settings or get_settings()
    database = database or Database(settings.db)
    sqlalchemy = SQLAlchemyAsyncConfig(
        engine_instance=database.engine,
        session_maker=database.sessionmaker,
        before_send_handler="autocommit",
        set_default_exception_handler=False,
    )
    prometheus = PrometheusConfig(
        app_name="cloudsense",
        prefix="cloudsense_controlplane_http",
        group_path=True,
        buckets=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        runner = None
        if settings.scheduler.enabled:
            from controlplane.scheduler.runner import SchedulerRunner

            runner = SchedulerRunner(database, settings)
            await runner.start()
        try:
            yield
        finally:
            if runner is not None:
                await runner.stop()
            # The app owns its engine (advanced-alchemy disposes it only under its first state key).
            await database.dispose()

    def provide_settings() -> Settings:
        return settings

    def provide_database() -> Database:
        return database

    app = Litestar(
        route_handlers=[
            SystemController,
            EnrollController,
            TokenController,
            HostController,
            TelemetryController,
        ],
        dependencies={
            "settings": Provide(provide_settings, sync_to_thread=False),
            "database": Provide(provide_database, sync_to_thread=False),
        },
        plugins=[SQLAlchemyPlugin(config=sqlalchemy), ProblemDetailsPlugin(problem_details_config())],
        exception_handlers=route_miss_handlers(),
        middleware=[RequestContextMiddleware(), prometheus.middleware],
        lifespan=[lifespan],
        request_max_body_size=settings.server.max_request_body_bytes,
        openapi_config=OpenAPIConfig(
            title="CloudSense control plane",
            version="1",
            description="Fleet telemetry in, host state out. Errors are application/problem+json (RFC 9457).",
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(
                        type="http", scheme="bearer", description="cs_<id>_<secret> (cse_... for /enroll)"
                    )
                }
            ),
            use_handler_docstrings=True,
        ),
        signature_namespace={"Settings": Settings, "Database": Database},
        debug=False,
        logging_config=None,  # logging is configured once per process (controlplane.log), not per app
    )
    app.state.settings = settings
    app.state.database = database
    app.state.ingest_limiter = IngestLimiter(
        settings.ingest.max_concurrent, settings.ingest.retry_after_seconds
    )
    return app
