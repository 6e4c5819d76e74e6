"""Pacing of the shipper: full-jitter backoff, ``Retry-After`` parsing, and the replay token bucket."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime

__all__ = ["Backoff", "Sleep", "TokenBucket", "parse_retry_after"]

_RETRY_AFTER_MAX_SECONDS = 3600.0
Sleep = Callable[[float], Awaitable[None]]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); ``None`` if invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), _RETRY_AFTER_MAX_SECONDS)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    delta = when.timestamp() - (time.time() if now is None else now)
    return min(max(0.0, delta), _RETRY_AFTER_MAX_SECONDS)


class Backoff:
    """Full-jitter exponential backoff (AWS architecture blog): ``uniform(0, min(cap, base * 2**attempt))``.

    A ``Retry-After`` is a floor: the delay is that plus up to one ``base`` of jitter, so a fleet told to
    come back in 30 s does not all come back in the same millisecond.
    """

    def __init__(self, base: float = 1.0, cap: float = 60.0, *, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self._rng = rng or random.Random()

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        delay = self._rng.uniform(0.0, min(self.cap, self.base * 2.0 ** min(attempt, 62)))
        if retry_after is not None:
            delay = retry_after + self._rng.uniform(0.0, self.base)
        return delay


class TokenBucket:
    """Samples per second allowed to the server (``rate <= 0``: unlimited); bursts up to ``capacity``."""

    def __init__(self, rate: float, capacity: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._capacity = max(capacity, 1.0)
        self._tokens = self._capacity
        self._clock = clock
        self._stamp = clock()

    async def acquire(self, n: int, sleep: Sleep = asyncio.sleep) -> None:
        """Wait until ``n`` samples (at most ``capacity``) may be sent, and take them."""
        if self._rate <= 0:
            return
        need = min(float(n), self._capacity)
        while True:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            if self._tokens >= need:
                self._tokens -= need
                return
            await sleep((need - self._tokens) / self._rate)
