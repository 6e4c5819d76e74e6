"""Reading bodies within limits: incremental gzip, bombs, corrupt streams, content length."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator

import pytest

from controlplane.domain.telemetry.body import GzipInflater, read_limited_body
from controlplane.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType


async def chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read(
    data: bytes, encoding: str | None = "gzip", *, raw: int = 10**6, inflated: int = 10**6
) -> bytes:
    return await read_limited_body(
        chunks(data),
        content_encoding=encoding,
        content_length=None,
        max_body_bytes=raw,
        max_decompressed_bytes=inflated,
    )


async def test_gzip_round_trip_in_small_chunks() -> None:
    payload = b'{"x": "' + b"abc" * 10_000 + b'"}'
    assert await read(gzip.compress(payload)) == payload


async def test_multi_member_gzip_is_concatenated() -> None:
    assert await read(gzip.compress(b"hello ") + gzip.compress(b"world")) == b"hello world"


def test_bomb_stops_inflating_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024), compresslevel=9)
    inflater = GzipInflater(limit=64 * 1024)
    with pytest.raises(PayloadTooLarge):
        for start in range(0, len(bomb), 4096):
            inflater.feed(bomb[start : start + 4096])
    assert len(inflater._out) <= 64 * 1024 + 1, "never more than limit + 1 bytes are inflated"


async def test_exactly_at_the_limit_is_accepted() -> None:
    payload = b"a" * 5000
    assert await read(gzip.compress(payload), inflated=5000) == payload
    with pytest.raises(PayloadTooLarge):
        await read(gzip.compress(payload), inflated=4999)


@pytest.mark.parametrize(
    "data",
    [b"not gzip at all", gzip.compress(b"x" * 1000)[:-8], b"", gzip.compress(b"ok") + b"trailing junk"],
    ids=["garbage", "truncated", "empty", "trailing junk"],
)
async def test_corrupt_gzip_is_bad_request(data: bytes) -> None:
    with pytest.raises(BadRequest):
        await read(data)


async def test_raw_limit_counts_bytes_as_sent() -> None:
    with pytest.raises(PayloadTooLarge):
        await read(b"x" * 2001, encoding=None, raw=2000)
    assert await read(b"x" * 2000, encoding="identity", raw=2000) == b"x" * 2000
    with pytest.raises(PayloadTooLarge):
        await read_limited_body(
            chunks(b""),
            content_encoding=None,
            content_length=10**9,
            max_body_bytes=100,
            max_decompressed_bytes=100,
        )


async def test_unknown_encoding_is_415() -> None:
    with pytest.raises(UnsupportedMediaType):
        await read(zlib.compress(b"{}"), encoding="deflate")


async def test_refusals_carry_their_reason() -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        await read(gzip.compress(b"a" * 100), inflated=10)
    assert caught.value.extra["reason"] == "decompressed_too_large"
