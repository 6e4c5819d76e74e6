"""``POST /api/v1/telemetry`` (ingest) and ``GET /api/v1/hosts/{host_id}/telemetry`` (downsampled)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from agent.wire import HOST_ID_PATTERN, IngestResult
from controlplane.domain.auth.deps import BEARER, VIEWERS, WRITERS, requires
from controlplane.domain.auth.services import Principal
from controlplane.domain.telemetry.body import read_limited_body
from controlplane.domain.telemetry.limiter import IngestLimitMiddleware
from controlplane.domain.telemetry.query import downsample, resolve_range
from controlplane.domain.telemetry.rejections import reject
from controlplane.domain.telemetry.schemas import TelemetrySeries
from controlplane.domain.telemetry.services import ingest_batch
from controlplane.domain.telemetry.validation import decode_and_validate
from controlplane.errors import UnsupportedMediaType
from controlplane.openapi import AUTH, IngestOperation, problems
from controlplane.settings import Settings

__all__ = ["TelemetryController"]


def _check_content_type(value: str | None) -> None:
    media_type = (value or "application/json").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise reject(
            "unsupported_media_type",
            UnsupportedMediaType(f"Content-Type {media_type!r} is not supported; send application/json"),
        )


class TelemetryController(Controller):
    """Telemetry in and out."""

    path = "/api/v1"
    tags = ["telemetry"]
    security = BEARER

    @post(
        "/telemetry",
        operation_id="IngestTelemetry",
        responses=problems(*AUTH, 400, 413, 415, 422, 429),
        operation_class=IngestOperation,
        status_code=200,
        request_max_body_size=None,  # enforced while streaming, see read_limited_body
        middleware=[IngestLimitMiddleware()],
        dependencies={"principal": requires(WRITERS)},
    )
    async def ingest(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        settings: NamedDependency[Settings],
    ) -> IngestResult:
        """Store a batch of samples idempotently on ``(host_id, epoch, seq)``; answer only after the commit.

        An agent credential may write its own host only. Gzip bodies are inflated incrementally, within
        limits (413 beyond them). Under overload: 429 with Retry-After."""
        _check_content_type(request.headers.get("content-type"))
        limits = settings.ingest
        body = await read_limited_body(
            request.stream(),
            content_encoding=request.headers.get("content-encoding"),
            content_length=request.content_length,
            max_body_bytes=limits.max_body_bytes,
            max_decompressed_bytes=limits.max_decompressed_bytes,
        )
        now = datetime.now(UTC)
        batch = decode_and_validate(
            body,
            now=now.timestamp(),
            max_future_skew_seconds=limits.max_future_skew_seconds,
            max_sample_age_seconds=limits.max_sample_age_seconds,
        )
        return await ingest_batch(db_session, batch, principal, now)

    @get(
        "/hosts/{host_id:str}/telemetry",
        operation_id="GetHostTelemetry",
        responses=problems(*AUTH, 400, 404, 422),
        dependencies={"principal": requires(VIEWERS)},
    )
    async def series(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        settings: NamedDependency[Settings],
        host_id: Annotated[str, PathParameter(pattern=HOST_ID_PATTERN, description="Host identity")],
        since: Annotated[
            datetime | None, QueryParameter(description="Range start (inclusive); default until - 1 h")
        ] = None,
        until: Annotated[
            datetime | None, QueryParameter(description="Range end (exclusive); default now")
        ] = None,
        step: Annotated[
            int | None,
            QueryParameter(ge=1, le=31 * 86400, description="Bucket width in seconds; default: ~500 buckets"),
        ] = None,
    ) -> TelemetrySeries:
        """Per-bucket averages of every metric of a host over ``[since, until)``."""
        since, until, step_seconds = resolve_range(
            since, until, step, now=datetime.now(UTC), settings=settings.telemetry
        )
        return await downsample(db_session, host_id, since, until, step_seconds)
