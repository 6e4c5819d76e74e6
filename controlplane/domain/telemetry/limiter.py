"""Overload protection: a bounded number of ingests in progress; past it, 429 at once (no queue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.middleware import ASGIMiddleware

from controlplane.domain.telemetry.rejections import reject
from controlplane.errors import Overloaded
from controlplane.metrics import INGEST_IN_FLIGHT

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, Scope, Send

__all__ = ["IngestLimitMiddleware", "IngestLimiter"]


class IngestLimiter:
    """Counts ingests in progress in this process (the event loop is single-threaded: no lock needed)."""

    def __init__(self, max_concurrent: int, retry_after_seconds: int) -> None:
        """Create the limiter.

        Args:
            max_concurrent: Ingests allowed at once.
            retry_after_seconds: Retry-After of the 429.
        """
        self.max_concurrent = max_concurrent
        self.retry_after_seconds = retry_after_seconds
        self.in_flight = 0

    def acquire(self) -> None:
        """Take a slot.

        Raises:
            Overloaded: Every slot is taken.
        """
        if self.in_flight >= self.max_concurrent:
            raise reject(
                "overloaded",
                Overloaded(
                    f"{self.in_flight} batches are being ingested (limit {self.max_concurrent}); retry later",
                    retry_after_seconds=self.retry_after_seconds,
                ),
            )
        self.in_flight += 1
        INGEST_IN_FLIGHT.inc()

    def release(self) -> None:
        """Give the slot back."""
        self.in_flight -= 1
        INGEST_IN_FLIGHT.dec()


class IngestLimitMiddleware(ASGIMiddleware):
    """Route middleware: take a slot before authentication and body reading, free it after the response."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Admit the request or answer 429."""
        limiter: IngestLimiter = scope["litestar_app"].state.ingest_limiter
        limiter.acquire()
        try:
            await next_app(scope, receive, send)
        finally:
            limiter.release()
