"""Ships spooled samples to the control plane: batches, gzip, bearer auth, retries done right.

``POST {server}/api/v1/telemetry`` with ``Content-Encoding: gzip``, ``Authorization: Bearer <credential>``
and the JSON of :class:`agent.wire.Batch`. Then, by answer:

* 2xx: the batch is committed server-side; the spool is acked through its last seq;
* 429, 502, 503, 504, timeouts, connection errors: retried (same batch, same seqs: idempotent) after a
  full-jitter exponential backoff, and never sooner than ``Retry-After`` says;
* 500 and the other server errors (501, 505-599): retried like the above, since a deploy or a passing fault
  may answer them. But a batch that the server fails on ``server_error_attempts`` times in a row may hold a
  sample it cannot process (a "poison" sample that would otherwise block the host's telemetry for good): it
  is split in halves, each delivered on its own, and a single sample that still fails that many times goes
  to the dead-letter file. The control plane answers its own outages (database down) with 503, which is
  retried for ever;
* 413: the batch is split in halves, each delivered on its own, down to single samples;
* 401, 403, 404: nothing is dropped; shipping pauses for ``auth_pause_seconds`` and the credential
  file is read again (an operator may have fixed it);
* 400, 422 and any other status: never retried: the batch goes to the spool's dead-letter file.
"""

from __future__ import annotations

import asyncio
import enum
import gzip
import ssl
import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import httpx
import msgspec

from agent import wire
from agent._pacing import Backoff, Sleep, TokenBucket, parse_retry_after
from agent.enroll import CredentialUnavailable
from agent.log import get_logger

if TYPE_CHECKING:
    from agent.enroll import CredentialManager
    from agent.settings import AgentSettings
    from agent.spool import Spool

__all__ = [
    "AGENT_VERSION",
    "RETRYABLE_STATUSES",
    "Backoff",
    "Shipper",
    "ShipperStats",
    "TokenBucket",
    "make_client",
    "parse_retry_after",
]

log = get_logger(__name__)
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
"""Availability answers (overload, a proxy without its upstream, the control plane's own outage): retried
for ever."""
AUTH_STATUSES = frozenset({401, 403, 404})
try:
    AGENT_VERSION = version("cloudsense")
except PackageNotFoundError:  # running from a source tree
    AGENT_VERSION = "0.0.0"


KEEPALIVE_SECONDS = 60.0
"""Idle time after which the agent drops its connection. httpx's default (5 s) is shorter than the agent's
interval, so every cycle would reconnect (and renegotiate TLS); the control plane keeps connections 75 s."""


def make_client(settings: AgentSettings, *, max_connections: int = 4) -> httpx.AsyncClient:
    """The HTTP client: TLS verified (system store or ``ca_file``), timeouts, bounded connections."""
    verify: ssl.SSLContext | bool = True
    if settings.ca_file:
        verify = ssl.create_default_context(cafile=settings.ca_file)
    return httpx.AsyncClient(
        verify=verify,
        timeout=httpx.Timeout(settings.request_timeout_seconds),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=KEEPALIVE_SECONDS,
        ),
        headers={"User-Agent": f"cloudsense-agent/{AGENT_VERSION}"},
        follow_redirects=False,
    )


class ShipperStats(msgspec.Struct, kw_only=True):
    """Counters of one shipper (cumulative over the agent's life through the status file)."""

    batches_sent: int = 0
    """Batches the server accepted."""
    samples_acked: int = 0
    """Samples the server accepted."""
    retries: int = 0
    """Retried attempts (429, 5xx, timeouts, connection errors)."""
    splits: int = 0
    """Batches split after a 413, or after ``server_error_attempts`` server errors in a row."""
    dead_lettered: int = 0
    """Samples moved to the dead-letter file (400, 422..., or a single sample the server keeps failing on)."""
    auth_failures: int = 0
    """401/403/404 answers and failed enrollments."""
    last_success_at: float | None = None
    """Unix time of the last accepted batch."""
    last_error: str = ""
    """The last failure, for humans."""
    last_error_at: float | None = None
    """Unix time of the last failure."""


class _Outcome(enum.Enum):
    DONE = "done"
    PAUSE = "pause"
    STOPPED = "stopped"


class Shipper:
    """Moves one spool's samples to the control plane, one batch at a time, in seq order."""

    def __init__(
        self,
        *,
        spool: Spool,
        client: httpx.AsyncClient,
        server_url: str,
        host_id: str,
        credentials: CredentialManager,
        durable: asyncio.Event,
        settings: AgentSettings,
        facts: Callable[[], wire.HostFacts | None] = lambda: None,
        stats: ShipperStats | None = None,
        bucket: TokenBucket | None = None,
        backoff: Backoff | None = None,
        limiter: asyncio.Semaphore | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._spool = spool
        self._client = client
        self._url = f"{server_url.rstrip('/')}/api/v1/telemetry"
        self._host_id = host_id
        self._credentials = credentials
        self._durable = durable
        self._batch_max = settings.batch_max_samples
        self._auth_pause = settings.auth_pause_seconds
        self._server_error_attempts = settings.server_error_attempts
        self._facts = facts
        self._facts_sent: wire.HostFacts | None = None
        self.stats = stats if stats is not None else ShipperStats()
        rate = settings.replay_rate_samples_per_second
        self._bucket = bucket or TokenBucket(rate, max(rate, float(self._batch_max)))
        self._backoff = backoff or Backoff(settings.backoff_base_seconds, settings.backoff_cap_seconds)
        self._limiter = limiter
        self._sleep = sleep
        self._stopping = False
        self._drain = False
        self._wakeup = asyncio.Event()
        self._interrupt = asyncio.Event()

    def request_stop(self, *, drain: bool = False) -> None:
        """Stop after the batch in flight; with ``drain``, only once nothing durable is left to send."""
        self._stopping, self._drain = True, drain
        self._wakeup.set()
        if not drain:
            self._interrupt.set()

    async def run(self) -> None:
        """Ship until :meth:`request_stop` (or cancellation)."""
        while not (self._stopping and not self._drain):
            try:
                token = await self._credentials.token()
            except CredentialUnavailable as exc:
                self._failed(str(exc), auth=not exc.retryable)
                delay = self._backoff.delay(3) if exc.retryable else self._auth_pause
                log.error("credential_unavailable", reason=str(exc), retry_in_seconds=round(delay, 1))
                if await self._pause(delay):
                    return
                continue
            try:
                samples = await asyncio.to_thread(self._spool.read, self._batch_max)
            except OSError as exc:  # EIO, EMFILE...: try again later, never die
                self._failed(f"spool read failed: {exc}")
                log.error("spool_read_failed", error=str(exc))
                if await self._pause(self._backoff.delay(5)):
                    return
                continue
            if not samples:
                if self._stopping:
                    return  # drained
                self._durable.clear()
                if self._spool.has_unsent:
                    continue  # became durable between the read and the clear
                await self._wait_for_data()
                continue
            await self._bucket.acquire(len(samples), self._sleep)
            outcome = await self._deliver(samples, token)
            if outcome is _Outcome.STOPPED or (
                outcome is _Outcome.PAUSE and await self._pause(self._auth_pause)
            ):
                return

    async def _wait_for_data(self) -> None:
        waits = [asyncio.ensure_future(self._durable.wait()), asyncio.ensure_future(self._wakeup.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()

    async def _pause(self, delay: float) -> bool:
        """Sleep ``delay``; ``True`` if a (non-draining) stop interrupted it."""
        sleeper = asyncio.ensure_future(self._sleep(delay))
        stopper = asyncio.ensure_future(self._interrupt.wait())
        try:
            await asyncio.wait([sleeper, stopper], return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            stopper.cancel()
        return self._interrupt.is_set()

    def _failed(self, reason: str, *, auth: bool = False) -> None:
        self.stats.last_error, self.stats.last_error_at = reason, time.time()
        if auth:
            self.stats.auth_failures += 1

    async def _post(
        self, samples: Sequence[wire.Sample], token: str, facts: wire.HostFacts | None
    ) -> tuple[httpx.Response, bytes]:
        batch = wire.Batch(
            host_id=self._host_id,
            agent_version=AGENT_VERSION[:64],
            epoch=self._spool.epoch,
            samples=list(samples),
            facts=facts,
            spool_dropped_total=self._spool.dropped_total,
        )
        body = wire.encode_batch(batch)
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        content = gzip.compress(body, compresslevel=5, mtime=0)
        if self._limiter is None:
            return await self._client.post(self._url, content=content, headers=headers), body
        async with self._limiter:
            return await self._client.post(self._url, content=content, headers=headers), body

    async def _split(self, samples: Sequence[wire.Sample], token: str, status: int) -> _Outcome:
        """Deliver each half on its own (after a 413, or a batch the server keeps failing on)."""
        self.stats.splits += 1
        half = len(samples) // 2
        log.warning("batch_split", samples=len(samples), status=status)
        for part in (samples[:half], samples[half:]):
            outcome = await self._deliver(part, token)
            if outcome is not _Outcome.DONE:
                return outcome
        return _Outcome.DONE

    async def _deliver(self, samples: Sequence[wire.Sample], token: str) -> _Outcome:
        attempt = 0
        server_errors = 0  # in a row, on this batch
        while True:
            current = self._facts()
            facts = current if current is not None and current != self._facts_sent else None
            retry_after: float | None = None
            try:
                response, body = await self._post(samples, token, facts)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if 200 <= status < 300:
                    try:
                        await asyncio.to_thread(self._spool.ack, samples[-1].seq)
                    except OSError as exc:  # the cursor is advanced in memory; a crash now only resends
                        log.error("spool_ack_persist_failed", error=str(exc))
                    self._facts_sent = facts or self._facts_sent
                    self.stats.batches_sent += 1
                    self.stats.samples_acked += len(samples)
                    self.stats.last_success_at = time.time()
                    log.debug("batch_shipped", samples=len(samples), through_seq=samples[-1].seq)
                    return _Outcome.DONE
                detail = response.text[:500]
                if status == 413 and len(samples) > 1:
                    return await self._split(samples, token, status)
                server_error = status >= 500 and status not in RETRYABLE_STATUSES
                server_errors = server_errors + 1 if server_error else 0
                if server_error and server_errors >= self._server_error_attempts and len(samples) > 1:
                    return await self._split(samples, token, status)
                if status in AUTH_STATUSES:
                    self._failed(f"HTTP {status}: {detail}", auth=True)
                    self._credentials.invalidate()
                    log.error(
                        "shipping_unauthorized", status=status, detail=detail, pause_seconds=self._auth_pause
                    )
                    return _Outcome.PAUSE
                gave_up = server_error and server_errors >= self._server_error_attempts
                if (status not in RETRYABLE_STATUSES and not server_error) or gave_up:
                    self._failed(f"HTTP {status}: {detail}")
                    try:
                        await asyncio.to_thread(
                            self._spool.dead_letter, samples, status=status, detail=detail, body=body
                        )
                    except OSError as exc:  # settled in memory; a crash now would only resend the batch
                        log.error("spool_ack_persist_failed", error=str(exc))
                    self.stats.dead_lettered += len(samples)
                    log.error("batch_dead_lettered", status=status, detail=detail, samples=len(samples))
                    return _Outcome.DONE
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                reason = f"HTTP {status}"
            delay = self._backoff.delay(attempt, retry_after)
            attempt += 1
            self.stats.retries += 1
            self._failed(reason)
            log.warning("shipping_retry", reason=reason, attempt=attempt, delay_seconds=round(delay, 3))
            if await self._pause(delay):
                return _Outcome.STOPPED
