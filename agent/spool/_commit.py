"""Group commit: fsync every dirty spool at most once per interval, then wake their shippers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from agent.log import get_logger
from agent.spool._spool import Spool

__all__ = ["GroupCommitter"]

log = get_logger(__name__)


class GroupCommitter:
    """Batches the fsyncs of one or many spools (one per simulated host) into one round per interval.

    An append calls :meth:`notify`; the next round starts at once if the previous one is at least
    ``interval`` old, else when it will be. A power cut therefore loses at most ``interval`` of samples,
    and the disk sees at most one fsync per spool per interval however fast samples arrive.
    """

    def __init__(self, interval: float = 1.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._spools: list[tuple[Spool, asyncio.Event]] = []
        self._wake = asyncio.Event()
        self._last = float("-inf")

    def register(self, spool: Spool) -> asyncio.Event:
        """Add a spool; the returned event is set whenever new samples of it became durable."""
        event = asyncio.Event()
        self._spools.append((spool, event))
        if spool.has_unsent:
            event.set()
        return event

    def notify(self) -> None:
        """Say that some spool has new samples to make durable."""
        self._wake.set()

    async def run(self) -> None:
        """Commit rounds until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            delay = self._last + self._interval - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.flush()

    async def flush(self) -> None:
        """Fsync every dirty spool now (also used on shutdown)."""
        self._last = self._clock()
        dirty = [(spool, event) for spool, event in self._spools if spool.needs_sync]
        if not dirty:
            return
        results = await asyncio.gather(*(asyncio.to_thread(s.sync) for s, _ in dirty), return_exceptions=True)
        for (spool, event), result in zip(dirty, results, strict=True):
            if isinstance(result, BaseException):
                log.error("spool_fsync_failed", directory=str(spool.directory), error=repr(result))
            else:
                event.set()
