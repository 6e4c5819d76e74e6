"""GET /api/v1/hosts, /hosts/{id} and /hosts/{id}/telemetry: filters, status, paging, downsampling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cp_helpers import bearer, make_batch
from sqlalchemy import update

from controlplane.db.models import Host
from controlplane.db.session import Database
from controlplane.domain.auth.tokens import Role
from controlplane.provision import create_api_token, create_enrollment_token

HOSTS = {"web-1": "web", "web-2": "web", "db-1": "db", "cache_1": "cache"}


async def seed(client: Any, token: str, database: Database) -> None:
    for host_id, role in HOSTS.items():
        batch = make_batch(host_id, n=3, facts={"role": role, "hostname": f"{host_id}.EXAMPLE.net"})
        assert (await client.post("/api/v1/telemetry", json=batch, headers=bearer(token))).status_code == 200
    enrollment = await create_enrollment_token(database)
    response = await client.post(
        "/api/v1/enroll", json={"host_id": "new-1"}, headers=bearer(enrollment.token)
    )
    assert response.status_code == 201, response.text
    now = datetime.now(UTC)
    ages = {"web-1": 5, "web-2": 120, "db-1": 1000, "cache_1": None}
    async with database.session_scope() as session:
        for host_id, age in ages.items():
            seen = None if age is None else now - timedelta(seconds=age)
            await session.execute(update(Host).where(Host.host_id == host_id).values(last_seen=seen))
        # cache_1 was heard of long ago and never since; new-1 enrolled just now and has not reported yet.
        long_ago = now - timedelta(hours=1)
        await session.execute(update(Host).where(Host.host_id == "cache_1").values(created_at=long_ago))


async def ids(client: Any, token: str, **params: Any) -> list[str]:
    response = await client.get("/api/v1/hosts", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return [h["host_id"] for h in response.json()["items"]]


async def test_list_filters_sorts_and_pages(client, tokens, clean_pg) -> None:
    await seed(client, tokens["operator"], clean_pg)
    viewer = tokens["viewer"]
    assert await ids(client, viewer) == ["cache_1", "db-1", "new-1", "web-1", "web-2"]
    assert await ids(client, viewer, status="up") == ["web-1"]
    assert await ids(client, viewer, status="stale") == ["web-2"]
    assert await ids(client, viewer, status="down") == ["cache_1", "db-1"]
    assert await ids(client, viewer, status="pending") == ["new-1"]
    statuses = {
        h["host_id"]: h["status"]
        for h in (await client.get("/api/v1/hosts", headers=bearer(viewer))).json()["items"]
    }
    assert statuses == {
        "cache_1": "down",
        "db-1": "down",
        "new-1": "pending",
        "web-1": "up",
        "web-2": "stale",
    }
    assert await ids(client, viewer, role="web") == ["web-1", "web-2"]
    assert await ids(client, viewer, q="WEB-") == ["web-1", "web-2"]
    assert await ids(client, viewer, q="example") == ["cache_1", "db-1", "web-1", "web-2"]
    assert await ids(client, viewer, q="_1") == ["cache_1"], "LIKE wildcards in q are literal"
    assert await ids(client, viewer, sort="-last_seen") == ["web-1", "web-2", "db-1", "cache_1", "new-1"]
    assert await ids(client, viewer, sort="-host_id") == ["web-2", "web-1", "new-1", "db-1", "cache_1"]

    page = (
        await client.get("/api/v1/hosts", params={"limit": 2, "offset": 1}, headers=bearer(viewer))
    ).json()
    assert [h["host_id"] for h in page["items"]] == ["db-1", "new-1"]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    page = (
        await client.get("/api/v1/hosts", params={"limit": 2, "offset": 3}, headers=bearer(viewer))
    ).json()
    first = page["items"][0]
    assert first["status"] == "up"
    assert first["role"] == "web"
    assert first["latest"]["seq"] == 2
    assert first["latest"]["cpu_util"] == 2.0


@pytest.mark.parametrize(
    "params", [{"status": "sideways"}, {"sort": "password"}, {"limit": 0}, {"limit": 5000}, {"offset": -1}]
)
async def test_bad_list_parameters_are_400_problems(client, tokens, params) -> None:
    response = await client.get("/api/v1/hosts", params=params, headers=bearer(tokens["viewer"]))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"]


async def test_detail_shows_facts_latest_sample_and_status(client, tokens, clean_pg) -> None:
    await seed(client, tokens["operator"], clean_pg)
    response = await client.get("/api/v1/hosts/web-2", headers=bearer(tokens["viewer"]))
    assert response.status_code == 200
    host = response.json()
    assert host["status"] == "stale"
    assert host["facts"]["hostname"] == "web-2.EXAMPLE.net"
    assert host["latest"]["mounts"] == {"/": 42.0}
    assert host["epoch"] == 7
    assert host["spool_dropped_total"] == 0
    assert host["last_seen"] is not None
    missing = await client.get("/api/v1/hosts/nope", headers=bearer(tokens["viewer"]))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "nope" in missing.json()["detail"]


async def check_downsampling(client: Any, writer: str, reader: str) -> None:
    t0 = float(int(datetime.now(UTC).timestamp() - 7200) // 600 * 600)  # bucket-aligned
    batch = make_batch("web-1", n=60, t0=t0, interval=10.0)
    assert (await client.post("/api/v1/telemetry", json=batch, headers=bearer(writer))).status_code == 200
    since = datetime.fromtimestamp(t0, UTC).isoformat()
    until = datetime.fromtimestamp(t0 + 600, UTC).isoformat()
    response = await client.get(
        "/api/v1/hosts/web-1/telemetry",
        params={"since": since, "until": until, "step": 60},
        headers=bearer(reader),
    )
    assert response.status_code == 200, response.text
    series = response.json()
    assert series["step_seconds"] == 60
    points = series["points"]
    assert [p["ts"] for p in points] == [t0 + 60 * k for k in range(10)]
    assert [p["samples"] for p in points] == [6] * 10
    assert [p["cpu_util"] for p in points] == pytest.approx([6 * k + 2.5 for k in range(10)])
    assert points[0]["swap_util"] is None, "a metric never sent stays null"

    default = await client.get("/api/v1/hosts/web-1/telemetry", headers=bearer(reader))
    assert default.status_code == 200
    assert default.json()["step_seconds"] >= 1
    half = await client.get(
        "/api/v1/hosts/web-1/telemetry",
        params={"since": since, "until": datetime.fromtimestamp(t0 + 300, UTC).isoformat(), "step": 300},
        headers=bearer(reader),
    )
    assert [(p["samples"], p["cpu_util"]) for p in half.json()["points"]] == [(30, pytest.approx(14.5))]


async def test_downsampling_on_postgres(client, tokens) -> None:
    await check_downsampling(client, tokens["agent"], tokens["viewer"])


async def test_downsampling_on_sqlite(sqlite_settings, make_client) -> None:
    database = Database(sqlite_settings.db)
    try:
        agent = await create_api_token(database, Role.AGENT, host_id="web-1")
        viewer = await create_api_token(database, Role.VIEWER)
    finally:
        await database.dispose()
    async with make_client(sqlite_settings) as sqlite_client:
        await check_downsampling(sqlite_client, agent.token, viewer.token)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, 422),
        ({"since": "2026-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, 422),
        ({"since": "2026-01-01T00:00:00Z", "until": "2026-01-08T00:00:00Z", "step": 1}, 422),
        ({"step": 0}, 400),
        ({"since": "yesterday"}, 400),
    ],
)
async def test_bad_ranges_are_refused(client, tokens, clean_pg, params, status) -> None:
    assert (
        await client.post("/api/v1/telemetry", json=make_batch(n=1), headers=bearer(tokens["agent"]))
    ).is_success
    response = await client.get(
        "/api/v1/hosts/web-1/telemetry", params=params, headers=bearer(tokens["viewer"])
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_telemetry_of_unknown_host_is_404(client, tokens) -> None:
    response = await client.get("/api/v1/hosts/ghost/telemetry", headers=bearer(tokens["viewer"]))
    assert response.status_code == 404
