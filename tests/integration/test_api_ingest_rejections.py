"""Bad input through HTTP: the right 4xx, as problem+json with a useful detail, and nothing stored."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from cp_helpers import bearer, gzipped, make_batch, settings_for
from sqlalchemy import func, select, update

from agent.wire import MAX_SAMPLES_PER_BATCH
from controlplane.db.models import ApiToken, Host, telemetry
from controlplane.domain.auth.tokens import Role
from controlplane.metrics import INGEST_REJECTED
from controlplane.provision import create_api_token

if TYPE_CHECKING:
    from controlplane.db.session import Database

GZIP = {"Content-Encoding": "gzip"}


def body(batch: dict[str, Any]) -> bytes:
    return json.dumps(batch).encode()


def with_sample(**fields: Any) -> bytes:
    batch = make_batch("web-1", n=3)
    batch["samples"][1].update(fields)
    return body(batch)


def raw_sample(fragment: str) -> bytes:
    """A batch whose second sample contains a raw JSON fragment (for NaN, Infinity, 1e999)."""
    return (
        b'{"host_id":"web-1","agent_version":"1","epoch":1,"samples":[{"seq":0,"ts":%f},{"seq":1,"ts":%f,%s}]}'
        % (time.time(), time.time(), fragment.encode())
    )


def truncated_gzip() -> bytes:
    return gzipped(make_batch("web-1", n=50))[:-12]


CASES: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("malformed json", b'{"host_id": "web-1", "samples": [', {}, 400, "malformed_json"),
    ("not an object", b"[1, 2, 3]", {}, 422, "invalid_schema"),
    ("empty body", b"", {}, 400, "empty_body"),
    ("wrong type", with_sample(cpu_util="high"), {}, 422, "invalid_schema"),
    ("bool for float", with_sample(cpu_util=True), {}, 422, "invalid_schema"),
    (
        "missing field",
        body({"host_id": "web-1", "agent_version": "1", "samples": []}),
        {},
        422,
        "invalid_schema",
    ),
    ("unknown top field", body(make_batch("web-1", n=2, extra_field=1)), {}, 422, "invalid_schema"),
    ("unknown sample field", with_sample(gpu_util=3.0), {}, 422, "invalid_schema"),
    ("NaN literal", raw_sample('"cpu_util":NaN'), {}, 400, "malformed_json"),
    ("Infinity literal", raw_sample('"disk_io":Infinity'), {}, 400, "malformed_json"),
    ("overflowing number", raw_sample('"disk_io":1e999'), {}, 422, "invalid_schema"),
    ("negative overflow", raw_sample('"load1":-1e999'), {}, 422, "invalid_schema"),
    ("utilisation above 100", with_sample(mem_util=100.5), {}, 422, "invalid_schema"),
    ("negative rate", with_sample(network_out=-1.0), {}, 422, "invalid_schema"),
    ("negative seq", with_sample(seq=-1), {}, 422, "invalid_schema"),
    ("mount above 100", with_sample(mounts={"/": 101.0}), {}, 422, "invalid_schema"),
    ("bad host id", body(make_batch("../etc", n=1)), {}, 422, "invalid_schema"),
    ("duplicate seq", with_sample(seq=0), {}, 422, "duplicate_seq"),
    ("far future", with_sample(ts=time.time() + 3600), {}, 422, "future_timestamp"),
    ("absurdly old", with_sample(ts=1.0), {}, 422, "stale_timestamp"),
    (
        "too many samples",
        body(make_batch("web-1", n=MAX_SAMPLES_PER_BATCH + 1, interval=0.1)),
        {},
        413,
        "too_many_samples",
    ),
    ("bad gzip", b"\x1f\x8b\x08\x00not really gzip", GZIP, 400, "bad_gzip"),
    ("truncated gzip", truncated_gzip(), GZIP, 400, "bad_gzip"),
    ("gzip header but plain json", body(make_batch("web-1", n=1)), GZIP, 400, "bad_gzip"),
    (
        "unknown encoding",
        body(make_batch("web-1", n=1)),
        {"Content-Encoding": "br"},
        415,
        "unsupported_encoding",
    ),
    ("wrong media type", b"cpu=3", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
    ("another host", body(make_batch("web-2", n=3)), {}, 403, "forbidden_host"),
]


async def assert_nothing_stored(database: Database) -> None:
    async with database.session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(telemetry)) == 0
        assert await session.scalar(select(func.count()).select_from(Host)) == 0


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("urn:cloudsense:problem:")
    assert problem["title"]
    assert problem["detail"]
    return problem


@pytest.mark.parametrize(("case", "content", "headers", "status", "reason"), CASES, ids=[c[0] for c in CASES])
async def test_bad_batch_is_refused_and_nothing_is_stored(
    client, tokens, clean_pg, case, content, headers, status, reason
) -> None:
    before = INGEST_REJECTED.labels(reason)._value.get()
    response = await client.post(
        "/api/v1/telemetry",
        content=content,
        headers={"Content-Type": "application/json", **bearer(tokens["agent"]), **headers},
    )
    problem = assert_problem(response, status)
    assert problem["reason"] == reason
    assert INGEST_REJECTED.labels(reason)._value.get() - before == 1
    await assert_nothing_stored(clean_pg)


async def test_detail_names_the_offending_field(client, tokens) -> None:
    response = await client.post(
        "/api/v1/telemetry", content=with_sample(cpu_util=250.0), headers=bearer(tokens["agent"])
    )
    assert "$.samples[1].cpu_util" in response.json()["detail"]


async def test_body_over_the_raw_limit_is_413(make_client, pg_url, tokens, clean_pg) -> None:
    settings = settings_for(pg_url, ingest={"max_body_bytes": 4096})
    big = body(make_batch("web-1", n=100))
    assert len(big) > 4096
    async with make_client(settings) as small_client:
        response = await small_client.post("/api/v1/telemetry", content=big, headers=bearer(tokens["agent"]))
        assert_problem(response, 413)
        compressed = await small_client.post(
            "/api/v1/telemetry",
            content=gzipped(make_batch("web-1", n=5)),
            headers={**bearer(tokens["agent"]), **GZIP},
        )
        assert compressed.status_code == 200, "the limit applies to the bytes as sent"
    async with clean_pg.session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(telemetry)) == 5


async def test_gzip_bomb_is_refused_without_inflating_it(make_client, pg_url, tokens, clean_pg) -> None:
    # 64 MiB of zeros compress to ~64 KiB: far under the raw limit, far over the decompressed one.
    bomb = gzip.compress(b"{" + b" " * (64 * 1024 * 1024) + b"}", compresslevel=9)
    settings = settings_for(pg_url, ingest={"max_decompressed_bytes": 1024 * 1024})
    async with make_client(settings) as bomb_client:
        response = await bomb_client.post(
            "/api/v1/telemetry", content=bomb, headers={**bearer(tokens["agent"]), **GZIP}
        )
    problem = assert_problem(response, 413)
    assert problem["reason"] == "decompressed_too_large"
    await assert_nothing_stored(clean_pg)


@pytest.mark.parametrize(
    ("header", "status", "fragment"),
    [
        (None, 401, "required"),
        ("Basic dXNlcjpwYXNz", 401, "Bearer"),
        ("Bearer nonsense", 401, "not a CloudSense API token"),
        ("Bearer cs_0123456789abcdef0123456789abcdef_wrongsecretwrongsecret", 401, "unknown token"),
    ],
    ids=["missing", "wrong scheme", "garbage", "unknown id"],
)
async def test_unauthenticated_is_401_with_challenge(client, clean_pg, header, status, fragment) -> None:
    headers = {"Authorization": header} if header else {}
    response = await client.post("/api/v1/telemetry", content=body(make_batch("web-1", n=2)), headers=headers)
    problem = assert_problem(response, status)
    assert fragment in problem["detail"]
    assert response.headers["www-authenticate"].startswith('Bearer realm="cloudsense"')
    await assert_nothing_stored(clean_pg)


async def test_right_id_wrong_secret_is_401(client, tokens, clean_pg) -> None:
    prefix, token_id, _secret = tokens["agent"].split("_", 2)
    forged = f"{prefix}_{token_id}_{'A' * 43}"
    response = await client.post("/api/v1/telemetry", content=body(make_batch()), headers=bearer(forged))
    assert_problem(response, 401)
    await assert_nothing_stored(clean_pg)


async def test_expired_and_revoked_tokens_are_401_at_once(client, clean_pg) -> None:
    agent = await create_api_token(clean_pg, Role.AGENT, host_id="web-1")
    ok = await client.post("/api/v1/telemetry", content=body(make_batch(n=1)), headers=bearer(agent.token))
    assert ok.status_code == 200

    async with clean_pg.session_scope() as session:
        await session.execute(
            update(ApiToken).where(ApiToken.id == agent.token_id).values(revoked_at=datetime.now(UTC))
        )
    revoked = await client.post(
        "/api/v1/telemetry", content=body(make_batch(n=2)), headers=bearer(agent.token)
    )
    assert "revoked" in assert_problem(revoked, 401)["detail"]

    expiring = await create_api_token(clean_pg, Role.AGENT, host_id="web-1", ttl_seconds=60)
    async with clean_pg.session_scope() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == expiring.token_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    expired = await client.post(
        "/api/v1/telemetry", content=body(make_batch(n=2)), headers=bearer(expiring.token)
    )
    assert "expired" in assert_problem(expired, 401)["detail"]
    async with clean_pg.session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(telemetry)) == 1


async def test_viewer_may_not_write(client, tokens, clean_pg) -> None:
    response = await client.post(
        "/api/v1/telemetry", content=body(make_batch()), headers=bearer(tokens["viewer"])
    )
    assert_problem(response, 403)
    await assert_nothing_stored(clean_pg)
