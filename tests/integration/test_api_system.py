"""/health, /ready, /metrics, the OpenAPI document, and problem+json for every kind of error."""

from __future__ import annotations

import re

from cp_helpers import bearer, make_batch, settings_for
from prometheus_client import CONTENT_TYPE_LATEST

from controlplane.domain.telemetry.rejections import REASONS


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert problem["detail"]
    return problem


async def test_health_and_ready_on_a_migrated_database(client) -> None:
    health = await client.get("/health")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = await client.get("/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})
    assert re.fullmatch(r"[0-9a-f]{32}", ready.headers["x-request-id"])
    echoed = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"


async def test_ready_is_503_on_an_unmigrated_database(tmp_path, make_client) -> None:
    async with make_client(settings_for(f"sqlite:///{tmp_path / 'empty.db'}")) as empty:
        assert (await empty.get("/health")).status_code == 200
        problem = assert_problem(await empty.get("/ready"), 503)
    assert "db upgrade" in problem["detail"]


async def test_database_down_is_503_with_retry_after_and_health_stays_up(make_client) -> None:
    settings = settings_for("postgresql://postgres@127.0.0.1:1/nowhere", db={"pool_timeout_seconds": 2})
    async with make_client(settings) as down:
        assert (await down.get("/health")).status_code == 200
        assert_problem(await down.get("/ready"), 503)
        token = "cs_" + "0" * 32 + "_" + "x" * 43
        ingest = await down.post("/api/v1/telemetry", json=make_batch(), headers=bearer(token))
        problem = assert_problem(ingest, 503)
        assert ingest.headers["retry-after"].isdigit()
        assert "127.0.0.1" not in problem["detail"], "no internals in a 5xx detail"
        metrics = await down.get("/metrics")
        assert metrics.status_code == 200, "metrics are served even when the database is down"
        assert "cloudsense_controlplane_migrations_at_head 0.0" in metrics.text


async def test_metrics_need_the_bearer_token_when_one_is_configured(
    tmp_path, make_client, monkeypatch
) -> None:
    """server.metrics_token (CLOUDSENSE_SERVER__METRICS_TOKEN): /metrics answers only that bearer, with a
    problem+json 401 and an RFC 6750 challenge otherwise; the probes stay open."""
    from pydantic import SecretStr

    from controlplane.settings import Settings

    monkeypatch.setenv("CLOUDSENSE_SERVER__METRICS_TOKEN", " ")
    assert Settings().server.metrics_token is None  # blank: no token (not one that nothing could send)
    monkeypatch.setenv("CLOUDSENSE_SERVER__METRICS_TOKEN", "scrape-s3cret")
    from_env = Settings().server.metrics_token
    assert isinstance(from_env, SecretStr) and "scrape-s3cret" not in repr(Settings().server)
    settings = settings_for(f"sqlite:///{tmp_path / 'm.db'}", server={"metrics_token": from_env})
    async with make_client(settings) as client:
        missing = await client.get("/metrics")
        assert_problem(missing, 401)
        assert missing.headers["www-authenticate"] == 'Bearer realm="cloudsense"'
        assert "Authorization: Bearer" in missing.json()["detail"]
        wrong = await client.get("/metrics", headers=bearer("scrape-guess"))
        assert_problem(wrong, 401)
        assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
        assert (await client.get("/metrics", headers={"Authorization": "Basic eDp5"})).status_code == 401
        right = await client.get("/metrics", headers=bearer("scrape-s3cret"))
        assert right.status_code == 200 and "cloudsense_controlplane_migrations_at_head" in right.text
        assert (await client.get("/health")).status_code == 200


async def test_metrics_expose_ingest_latency_pool_and_hosts(client, tokens) -> None:
    await client.post("/api/v1/telemetry", json=make_batch(n=3), headers=bearer(tokens["agent"]))
    await client.get("/api/v1/hosts/web-1", headers=bearer(tokens["viewer"]))
    response = await client.get("/metrics")
    assert response.status_code == 200
    # Exactly the exposition format's type: a second "charset" parameter is a malformed media type (Go's
    # mime.ParseMediaType: "duplicate parameter name"), which Prometheus 3 refuses to scrape.
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    text = response.text
    for name in (
        "cloudsense_controlplane_ingest_samples_total",
        "cloudsense_controlplane_ingest_batches_total",
        "cloudsense_controlplane_ingest_duplicates_total",
        "cloudsense_controlplane_agent_spool_dropped_total",
        "cloudsense_controlplane_ingest_in_flight",
        "cloudsense_controlplane_db_pool_size",
        'cloudsense_controlplane_db_pool_connections{database="',
        'cloudsense_controlplane_hosts{status="up"} 1.0',
        "cloudsense_controlplane_migrations_at_head 1.0",
        "cloudsense_controlplane_http_request_duration_seconds_bucket",
        'cloudsense_controlplane_http_requests_total{app_name="cloudsense",method="POST",'
        'path="/api/v1/telemetry",status_code="200"}',
    ):
        assert name in text, name
    for reason in REASONS:
        assert f'cloudsense_controlplane_ingest_rejected_total{{reason="{reason}"}}' in text
    assert 'path="/api/v1/hosts/{host_id}"' in text, "latency is labelled by route template, not raw path"
    assert 'path="/api/v1/hosts/web-1"' not in text


async def test_openapi_document(client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert {
        "IngestTelemetry",
        "EnrollHost",
        "ListHosts",
        "GetHost",
        "GetHostTelemetry",
        "CreateToken",
        "ListTokens",
        "RevokeToken",
        "CreateEnrollmentToken",
        "ListEnrollmentTokens",
        "GetHealth",
        "GetReadiness",
        "GetMetrics",
    } <= operations
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+", op) for op in operations)
    ingest = document["paths"]["/api/v1/telemetry"]["post"]
    batch = ingest["requestBody"]["content"]["application/json"]["schema"]
    assert batch["additionalProperties"] is False
    assert batch["properties"]["samples"]["maxItems"] == 10_000
    sample = batch["properties"]["samples"]["items"]
    assert sample["properties"]["cpu_util"]["anyOf"][0]["maximum"] == 100.0
    assert document["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"


async def test_unknown_path_and_wrong_method_are_problems(client, tokens) -> None:
    missing = assert_problem(await client.get("/api/v1/nothing-here"), 404)
    assert "Not Found" in missing["title"]
    assert (
        missing["detail"] == "no route GET /api/v1/nothing-here; the API is described at /schema/openapi.json"
    )
    wrong = await client.put("/api/v1/hosts")
    assert assert_problem(wrong, 405)["detail"] == (
        "PUT is not allowed on /api/v1/hosts (it takes GET, OPTIONS); "
        "the API is described at /schema/openapi.json"
    )
    assert wrong.headers["allow"] == "GET, OPTIONS"
    assert (
        "DELETE is not allowed on /api/v1/telemetry"
        in assert_problem(await client.delete("/api/v1/telemetry"), 405)["detail"]
    )
    # a handler's own 404 keeps its own words: only the router's bare ones are rewritten
    host = assert_problem(await client.get("/api/v1/hosts/nosuch", headers=bearer(tokens["viewer"])), 404)
    assert host["detail"] == "no host 'nosuch'"
