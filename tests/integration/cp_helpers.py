"""Helpers of the integration tests: settings, auth headers, batches, a live uvicorn server."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import threading
import time
from typing import TYPE_CHECKING, Any

import uvicorn

from controlplane.app import create_app
from controlplane.settings import DatabaseSettings, SchedulerSettings, Settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

__all__ = ["T0", "bearer", "gzipped", "live_server", "make_batch", "settings_for", "threaded_server"]


def settings_for(url: str, **sections: dict[str, Any]) -> Settings:
    """Settings on ``url``, scheduler off, plus section overrides (``ingest={"max_concurrent": 1}``)."""
    base = Settings(db=DatabaseSettings(url=url), scheduler=SchedulerSettings(enabled=False))
    updates = {name: getattr(base, name).model_copy(update=values) for name, values in sections.items()}
    return base.model_copy(update=updates)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


T0 = time.time() - 7200
"""Timestamp of seq 0 in :func:`make_batch` (fixed per run, so the same seq always has the same ts)."""


def make_batch(
    host_id: str = "web-1",
    *,
    n: int = 10,
    epoch: int = 7,
    start_seq: int = 0,
    t0: float | None = None,
    interval: float = 10.0,
    **extra: Any,
) -> dict[str, Any]:
    """A valid batch as a JSON-ready dict: ``n`` samples from ``start_seq``, ``ts = t0 + seq * interval``.

    The same ``(epoch, seq)`` always gets the same ``ts``, as in a real replay.
    """
    t0 = T0 if t0 is None else t0
    samples = [
        {
            "seq": seq,
            "ts": t0 + seq * interval,
            "cpu_util": float(seq % 100),
            "mem_util": 50.0,
            "disk_util": 40.0 + seq % 10,
            "network_in": 1000.0 * seq,
            "load1": 0.5,
            "mounts": {"/": 40.0 + seq % 10},
        }
        for seq in range(start_seq, start_seq + n)
    ]
    return {"host_id": host_id, "agent_version": "0.1.0", "epoch": epoch, "samples": samples, **extra}


def gzipped(batch: dict[str, Any]) -> bytes:
    """The batch as gzip-compressed JSON (what the agent sends)."""
    return gzip.compress(json.dumps(batch).encode())


@contextlib.asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[str]:
    """``create_app(settings)`` under uvicorn on 127.0.0.1 (any free port), in this event loop.

    Yields:
        The base URL.
    """
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(1000):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.contextmanager
def threaded_server(settings: Settings) -> Iterator[str]:
    """``create_app(settings)`` under uvicorn in a thread with its own event loop (for synchronous clients).

    Yields:
        The base URL.
    """
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        for _ in range(1000):
            if server.started or not thread.is_alive():
                break
            time.sleep(0.01)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
