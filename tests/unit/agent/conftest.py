"""Agent test fixtures: a real HTTP server on loopback that answers from a script, and builders."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent import wire
from agent.enroll import Credential, CredentialStore
from agent.settings import AgentSettings

TOKEN = "agent-secret-token"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "proc"


@dataclass
class Request:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> Any:
        data = gzip.decompress(self.body) if self.headers.get("content-encoding") == "gzip" else self.body
        return json.loads(data)


@dataclass
class Reply:
    """What the server answers (``drop``: close the connection without answering)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


def default_handler(request: Request) -> Reply:
    """Accept telemetry like the control plane would; enroll anyone."""
    if request.path == "/api/v1/enroll":
        host_id = request.payload["host_id"]
        return Reply(201, {"host_id": host_id, "token": f"tok-{host_id}", "token_id": f"id-{host_id}"})
    batch = request.payload
    return Reply(
        200,
        {
            "host_id": batch["host_id"],
            "epoch": batch["epoch"],
            "accepted": len(batch["samples"]),
            "duplicates": 0,
        },
    )


class ScriptedServer:
    """A minimal HTTP/1.1 server (keep-alive, Content-Length bodies) on 127.0.0.1.

    Replies come from ``script`` (first in, first out), then from ``handler``.
    """

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.script: deque[Reply] = deque()
        self.handler: Callable[[Request], Reply] = default_handler
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def telemetry(self) -> list[Request]:
        return [r for r in self.requests if r.path == "/api/v1/telemetry"]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Request(method, path, headers, body)
                self.requests.append(request)
                reply = self.script.popleft() if self.script else self.handler(request)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                if reply.drop:
                    return
                content = b"" if reply.body is None else json.dumps(reply.body).encode()
                head = [f"HTTP/1.1 {reply.status} X", f"Content-Length: {len(content)}"]
                head += ["Content-Type: application/json", *(f"{k}: {v}" for k, v in reply.headers.items())]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + content)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # Python 3.11's StreamReaderProtocol logs a spurious error for a handler that ends
            # cancelled (fixed in 3.12); a test server may just stop.
            return
        finally:
            writer.close()


@pytest.fixture
async def server():
    srv = ScriptedServer()
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
def agent_settings(tmp_path: Path) -> AgentSettings:
    """Fast settings: tiny backoff, no replay limit, short timeouts."""
    return AgentSettings(
        state_dir=str(tmp_path / "state"),
        backoff_base_seconds=0.001,
        backoff_cap_seconds=0.01,
        auth_pause_seconds=0.05,
        request_timeout_seconds=2.0,
        replay_rate_samples_per_second=0,
        fsync_interval_seconds=0.01,
    )


async def wait_until(predicate: Callable[[], bool], *, limit: float = 15.0, step: float = 0.005) -> bool:
    """Poll ``predicate`` until true (``limit`` only guards against a hang; nothing asserts on time)."""
    for _ in range(int(limit / step)):
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


def store_credential(directory: Path, host_id: str, token: str = TOKEN) -> CredentialStore:
    store = CredentialStore(directory / "credential.json")
    store.save(Credential(host_id=host_id, token=token, token_id="tid"))
    return store


@pytest.fixture(autouse=True)
def _remove_cli_log_handler():
    """``cli.main`` installs a stderr handler on the root logger: take it away after each test."""
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "cloudsense-agent":
            root.removeHandler(handler)


class ThreadedServer:
    """A :class:`ScriptedServer` on its own event loop in a thread (for sync tests and subprocesses)."""

    def __init__(self) -> None:
        self.srv = ScriptedServer()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.srv.start(), self.loop).result(10)
        return self.srv

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.srv.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def threaded_server():
    with ThreadedServer() as srv:
        yield srv


class FakeHost:
    """Honours the agent.simulation host contract with constant metrics."""

    def __init__(self, i: int, seed: int) -> None:
        self.host_id = f"sim-test-{seed}-{i:04d}"
        self.role = "web"
        self.facts = wire.HostFacts(hostname=self.host_id, role="web", simulated=True, cpu_cores=2)
        self.last_ts = 0.0

    def sample_at(self, ts: float) -> dict[str, float]:
        assert ts >= self.last_ts
        self.last_ts = ts
        return {name: 10.0 for name in wire.METRIC_NAMES}


def fake_fleet(n_hosts: int, seed: int, start_ts: float) -> list[FakeHost]:
    return [FakeHost(i, seed) for i in range(n_hosts)]
