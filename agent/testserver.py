"""A scripted HTTP/1.1 server on loopback that stands in for the control plane in tests.

Not a mock: a real socket server (keep-alive, ``Content-Length`` bodies) that records every request
and answers from a script, so the shipper's retry matrix is exercised over real TCP::

    srv = ScriptedServer()
    await srv.start()
    srv.script.append(Reply(503, headers={"Retry-After": "2"}))   # the next answer
    srv.handler = lambda request: Reply(200, {...})                # every answer after the script
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Reply", "Request", "ScriptedServer", "ThreadedServer", "default_handler"]


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

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.requests: list[Request] = []
        self.script: deque[Reply] = deque()
        self.handler: Callable[[Request], Reply] = default_handler
        self._server: asyncio.Server | None = None
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def telemetry(self) -> list[Request]:
        return [r for r in self.requests if r.path == "/api/v1/telemetry"]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
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


class ThreadedServer:
    """A :class:`ScriptedServer` on its own event loop in a thread (for sync tests and subprocesses)."""

    def __init__(self, port: int = 0) -> None:
        self.srv = ScriptedServer(port=port)
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
