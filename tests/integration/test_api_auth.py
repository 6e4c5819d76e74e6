"""Enrollment (single use, N uses, expiry, revocation, no double spend) and the token API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cp_helpers import bearer, live_server, make_batch
from sqlalchemy import func, select, update

from controlplane.db.models import ApiToken, EnrollmentToken, Host
from controlplane.provision import create_enrollment_token

FACTS = {"hostname": "web-1.example", "os": "Linux", "cpu_cores": 8, "role": "web", "simulated": True}


async def enroll(client: Any, token: str, host_id: str = "web-1", facts: dict[str, Any] | None = None) -> Any:
    return await client.post(
        "/api/v1/enroll", json={"host_id": host_id, "facts": facts}, headers=bearer(token)
    )


async def test_enrollment_gives_a_working_agent_credential(client, clean_pg) -> None:
    enrollment = await create_enrollment_token(clean_pg)
    response = await enroll(client, enrollment.token, facts=FACTS)
    assert response.status_code == 201, response.text
    credential = response.json()
    assert credential["host_id"] == "web-1"
    assert credential["token"].startswith("cs_")

    ingest = await client.post(
        "/api/v1/telemetry", json=make_batch("web-1", n=2), headers=bearer(credential["token"])
    )
    assert ingest.status_code == 200
    elsewhere = await client.post(
        "/api/v1/telemetry", json=make_batch("web-2"), headers=bearer(credential["token"])
    )
    assert elsewhere.status_code == 403
    reads = await client.get("/api/v1/hosts", headers=bearer(credential["token"]))
    assert reads.status_code == 403, "an agent credential cannot read the fleet"

    async with clean_pg.session_scope() as session:
        host = await session.get(Host, "web-1")
        stored = await session.get(ApiToken, credential["token_id"])
    assert host is not None and host.enrolled_at is not None and host.role == "web"
    assert stored is not None and stored.role == "agent" and stored.host_id == "web-1"
    assert credential["token"].split("_", 2)[2] not in stored.secret_hash  # only the hash is kept


async def test_enrollment_token_is_single_use_by_default(client, clean_pg) -> None:
    enrollment = await create_enrollment_token(clean_pg)
    assert (await enroll(client, enrollment.token, "web-1")).status_code == 201
    again = await enroll(client, enrollment.token, "web-2")
    assert again.status_code == 401
    assert again.headers["content-type"].startswith("application/problem+json")
    assert "no uses left" in again.json()["detail"]


async def test_enrollment_token_with_n_uses(client, clean_pg) -> None:
    enrollment = await create_enrollment_token(clean_pg, uses=3)
    statuses = [(await enroll(client, enrollment.token, f"host-{i}")).status_code for i in range(5)]
    assert statuses == [201, 201, 201, 401, 401]


async def test_expired_revoked_and_wrong_kind_of_token_are_refused(client, clean_pg, tokens) -> None:
    expired = await create_enrollment_token(clean_pg)
    revoked = await create_enrollment_token(clean_pg)
    async with clean_pg.session_scope() as session:
        await session.execute(
            update(EnrollmentToken)
            .where(EnrollmentToken.id == expired.token_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    revoke = await client.delete(f"/api/v1/tokens/{revoked.token_id}", headers=bearer(tokens["admin"]))
    assert revoke.status_code == 204
    assert "expired" in (await enroll(client, expired.token)).json()["detail"]
    assert "revoked" in (await enroll(client, revoked.token)).json()["detail"]
    api_token_instead = await enroll(client, tokens["admin"])
    assert api_token_instead.status_code == 401
    assert (await enroll(client, "cse_" + "0" * 32 + "_" + "x" * 43)).status_code == 401
    async with clean_pg.session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(Host)) == 0


async def test_bad_enroll_body_is_400_problem(client, clean_pg) -> None:
    enrollment = await create_enrollment_token(clean_pg)
    response = await enroll(client, enrollment.token, host_id="no spaces allowed")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"]
    async with clean_pg.session_scope() as session:
        row = await session.get(EnrollmentToken, enrollment.token_id)
    assert row is not None and row.uses_remaining == 1, "a refused request spends no use"


async def test_re_enrollment_revokes_the_previous_credential(client, clean_pg) -> None:
    enrollment = await create_enrollment_token(clean_pg, uses=2)
    first = (await enroll(client, enrollment.token)).json()["token"]
    second = (await enroll(client, enrollment.token)).json()["token"]
    old = await client.post("/api/v1/telemetry", json=make_batch(n=1), headers=bearer(first))
    assert old.status_code == 401
    assert "revoked" in old.json()["detail"]
    new = await client.post("/api/v1/telemetry", json=make_batch(n=1), headers=bearer(second))
    assert new.status_code == 200


@pytest.mark.parametrize("uses", [1, 3])
async def test_concurrent_enrollments_never_overspend(pg_settings, clean_pg, uses) -> None:
    enrollment = await create_enrollment_token(clean_pg, uses=uses)
    async with live_server(pg_settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        responses = await asyncio.gather(*(enroll(http, enrollment.token, f"host-{i}") for i in range(12)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * uses + [401] * (12 - uses)
    async with clean_pg.session_scope() as session:
        row = await session.get(EnrollmentToken, enrollment.token_id)
        agents = await session.scalar(
            select(func.count()).select_from(ApiToken).where(ApiToken.role == "agent")
        )
    assert row is not None and row.uses_remaining == 0
    assert agents == uses


async def test_concurrent_re_enrollment_of_one_host_leaves_one_live_credential(pg_settings, clean_pg) -> None:
    enrollment = await create_enrollment_token(clean_pg, uses=6)
    async with live_server(pg_settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        responses = await asyncio.gather(*(enroll(http, enrollment.token, "web-1") for _ in range(6)))
    assert all(r.status_code == 201 for r in responses)
    async with clean_pg.session_scope() as session:
        live = await session.scalar(
            select(func.count())
            .select_from(ApiToken)
            .where(ApiToken.host_id == "web-1", ApiToken.revoked_at.is_(None))
        )
    assert live == 1


async def test_token_api_is_for_admins(client, tokens) -> None:
    for role in ("viewer", "operator", "agent"):
        response = await client.get("/api/v1/tokens", headers=bearer(tokens[role]))
        assert response.status_code == 403, role
        assert response.json()["type"] == "urn:cloudsense:problem:permission-denied"
    created = await client.post(
        "/api/v1/tokens",
        json={"role": "viewer", "name": "dashboards", "ttl_seconds": 600},
        headers=bearer(tokens["admin"]),
    )
    assert created.status_code == 201, created.text
    viewer = created.json()
    assert viewer["expires_at"] is not None
    assert (await client.get("/api/v1/hosts", headers=bearer(viewer["token"]))).status_code == 200

    listed = (await client.get("/api/v1/tokens", headers=bearer(tokens["admin"]))).json()
    assert viewer["token_id"] in {t["token_id"] for t in listed}
    assert all("token" not in t and "secret_hash" not in t for t in listed)

    revoked = await client.delete(f"/api/v1/tokens/{viewer['token_id']}", headers=bearer(tokens["admin"]))
    assert revoked.status_code == 204
    after = await client.get("/api/v1/hosts", headers=bearer(viewer["token"]))
    assert after.status_code == 401, "revocation takes effect on the next request"
    missing = await client.delete(f"/api/v1/tokens/{'0' * 32}", headers=bearer(tokens["admin"]))
    assert missing.status_code == 404


async def test_agent_token_needs_a_host(client, tokens) -> None:
    response = await client.post("/api/v1/tokens", json={"role": "agent"}, headers=bearer(tokens["admin"]))
    assert response.status_code == 422
    bound = await client.post(
        "/api/v1/tokens", json={"role": "agent", "host_id": "db-1"}, headers=bearer(tokens["admin"])
    )
    assert bound.status_code == 201


async def test_enrollment_token_api(client, tokens) -> None:
    created = await client.post(
        "/api/v1/enrollment-tokens", json={"uses": 2}, headers=bearer(tokens["admin"])
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert (await enroll(client, token, "a-1")).status_code == 201
    listed = (await client.get("/api/v1/enrollment-tokens", headers=bearer(tokens["admin"]))).json()
    assert [(t["uses_total"], t["uses_remaining"]) for t in listed] == [(2, 1)]
