"""Read a request body within limits: raw bytes as they stream in, then gzip inflated incrementally.

A gzip bomb is refused as soon as its output passes the limit: at most ``limit + 1`` bytes are ever
inflated, whatever the compression ratio.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from controlplane.domain.telemetry.rejections import reject
from controlplane.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["GzipInflater", "read_limited_body"]

_GZIP_WBITS = 16 + zlib.MAX_WBITS


class GzipInflater:
    """Incremental gzip decoder (multi-member streams too) that refuses output beyond ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        """Create the decoder.

        Args:
            limit: Largest decompressed size accepted, in bytes.
        """
        self._limit = limit
        self._decoder = zlib.decompressobj(_GZIP_WBITS)
        self._out = bytearray()

    def feed(self, data: bytes) -> None:
        """Inflate the next compressed chunk.

        Raises:
            PayloadTooLarge: The output passed the limit.
            BadRequest: The stream is not valid gzip.
        """
        try:
            while data:
                if self._decoder.eof:  # another gzip member follows
                    self._decoder = zlib.decompressobj(_GZIP_WBITS)
                room = self._limit - len(self._out)
                self._out += self._decoder.decompress(data, room + 1)
                if len(self._out) > self._limit:
                    raise reject(
                        "decompressed_too_large",
                        PayloadTooLarge(
                            f"decompressed body exceeds {self._limit} bytes; send smaller batches"
                        ),
                    )
                data = self._decoder.unused_data if self._decoder.eof else self._decoder.unconsumed_tail
        except zlib.error as exc:
            raise reject("bad_gzip", BadRequest(f"body is not valid gzip: {exc}")) from exc

    def finish(self) -> bytes:
        """The whole decompressed body.

        Raises:
            BadRequest: The stream ended in the middle of a gzip member.
        """
        if not self._decoder.eof:
            raise reject("bad_gzip", BadRequest("gzip stream is truncated"))
        return bytes(self._out)


async def read_limited_body(
    chunks: AsyncIterator[bytes],
    *,
    content_encoding: str | None,
    content_length: int | None,
    max_body_bytes: int,
    max_decompressed_bytes: int,
) -> bytes:
    """Collect a request body, enforcing both limits while it streams in.

    Args:
        chunks: The body as it arrives (``request.stream()``).
        content_encoding: The ``Content-Encoding`` header (``gzip`` or identity).
        content_length: The announced length, refused up front when over the limit.
        max_body_bytes: Limit on the bytes as sent.
        max_decompressed_bytes: Limit on the bytes once decompressed.

    Returns:
        The (decompressed) body.

    Raises:
        PayloadTooLarge: A limit was passed.
        UnsupportedMediaType: An encoding other than gzip or identity.
        BadRequest: Corrupt or truncated gzip.
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding not in {"identity", "gzip", "x-gzip"}:
        raise reject(
            "unsupported_encoding",
            UnsupportedMediaType(f"Content-Encoding {encoding!r} is not supported; use gzip or none"),
        )
    too_large = PayloadTooLarge(f"body exceeds {max_body_bytes} bytes; send smaller batches")
    if content_length is not None and content_length > max_body_bytes:
        raise reject("body_too_large", too_large)
    inflater = GzipInflater(max_decompressed_bytes) if encoding != "identity" else None
    plain_limit = min(max_body_bytes, max_decompressed_bytes)
    received = 0
    parts: list[bytes] = []
    async for chunk in chunks:
        if not chunk:
            continue
        received += len(chunk)
        if received > max_body_bytes:
            raise reject("body_too_large", too_large)
        if inflater is not None:
            inflater.feed(chunk)
        else:
            if received > plain_limit:
                raise reject("body_too_large", PayloadTooLarge(f"body exceeds {plain_limit} bytes"))
            parts.append(chunk)
    return inflater.finish() if inflater is not None else b"".join(parts)
