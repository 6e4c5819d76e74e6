"""POST /api/v1/telemetry, the happy paths: stored once, replays counted as duplicates, host row updated."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from cp_helpers import bearer, gzipped, live_server, make_batch
from sqlalchemy import func, select, text

from controlplane.db.models import Host, telemetry
from controlplane.db.session import Database
from controlplane.domain.auth.tokens import Role
from controlplane.metrics import AGENT_SPOOL_DROPPED, INGEST_BATCHES, INGEST_DUPLICATES, INGEST_SAMPLES
from controlplane.provision import create_api_token

if TYPE_CHECKING:
    from litestar.testing import AsyncTestClient

    from controlplane.settings import Settings


async def count_rows(database: Database, host_id: str | None = None) -> int:
    query = select(func.count()).select_from(telemetry)
    if host_id is not None:
        query = query.where(telemetry.c.host_id == host_id)
    async with database.session_scope() as session:
        return int(await session.scalar(query) or 0)


async def post(client: AsyncTestClient[Any], token: str, batch: dict[str, Any], *, gzip: bool = True) -> Any:
    if gzip:
        return await client.post(
            "/api/v1/telemetry",
            content=gzipped(batch),
            headers={**bearer(token), "Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    return await client.post("/api/v1/telemetry", content=json.dumps(batch), headers=bearer(token))


async def test_batch_is_stored_once_and_replay_counts_duplicates(client, tokens, clean_pg) -> None:
    batch = make_batch("web-1", n=50)
    before = (INGEST_SAMPLES._value.get(), INGEST_DUPLICATES._value.get(), INGEST_BATCHES._value.get())

    first = await post(client, tokens["agent"], batch)
    assert first.status_code == 200, first.text
    assert first.json() == {"host_id": "web-1", "epoch": 7, "accepted": 50, "duplicates": 0}
    assert await count_rows(clean_pg) == 50

    replay = await post(client, tokens["agent"], batch)
    assert replay.json() == {"host_id": "web-1", "epoch": 7, "accepted": 0, "duplicates": 50}
    overlap = await post(client, tokens["agent"], make_batch("web-1", n=20, start_seq=40))
    assert overlap.json()["accepted"] == 10
    assert overlap.json()["duplicates"] == 10
    assert await count_rows(clean_pg) == 60

    after = (INGEST_SAMPLES._value.get(), INGEST_DUPLICATES._value.get(), INGEST_BATCHES._value.get())
    assert after[0] - before[0] == 60
    assert after[1] - before[1] == 60
    assert after[2] - before[2] == 3


async def test_same_seq_in_another_epoch_is_a_new_sample(client, tokens, clean_pg) -> None:
    await post(client, tokens["agent"], make_batch("web-1", n=5, epoch=1))
    response = await post(client, tokens["agent"], make_batch("web-1", n=5, epoch=2))
    assert response.json()["accepted"] == 5
    assert await count_rows(clean_pg) == 10


async def test_plain_json_and_operator_may_write_any_host(client, tokens, clean_pg) -> None:
    response = await post(client, tokens["operator"], make_batch("db-9", n=3), gzip=False)
    assert response.status_code == 200, response.text
    admin = await post(client, tokens["admin"], make_batch("db-10", n=2), gzip=False)
    assert admin.status_code == 200
    assert await count_rows(clean_pg, "db-9") == 3
    assert await count_rows(clean_pg, "db-10") == 2


async def test_host_row_tracks_latest_sample_facts_and_spool_drops(client, tokens, clean_pg) -> None:
    facts = {"hostname": "web-1.example", "os": "Linux", "cpu_cores": 4, "role": "web"}
    dropped_before = AGENT_SPOOL_DROPPED._value.get()
    newest = make_batch("web-1", n=5, start_seq=10, facts=facts, spool_dropped_total=3)
    await post(client, tokens["agent"], newest)
    older = make_batch("web-1", n=5, start_seq=0, spool_dropped_total=5)
    await post(client, tokens["agent"], older)

    async with clean_pg.session_scope() as session:
        host = await session.get(Host, "web-1")
    assert host is not None
    assert host.role == "web"
    assert host.hostname == "web-1.example"
    assert host.facts is not None and host.facts["cpu_cores"] == 4
    assert host.agent_version == "0.1.0"
    assert host.epoch == 7
    assert host.latest_sample is not None and host.latest_sample["seq"] == 14  # the older batch did not win
    assert host.latest_ts is not None and host.latest_ts.timestamp() == pytest.approx(
        newest["samples"][-1]["ts"]
    )
    assert host.spool_dropped_total == 5
    assert AGENT_SPOOL_DROPPED._value.get() - dropped_before == 5
    assert host.first_seen is not None and host.last_seen is not None


async def test_postgres_path_goes_through_copy_staging_and_partitions(client, tokens, clean_pg) -> None:
    await post(client, tokens["agent"], make_batch("web-1", n=5))
    async with clean_pg.session_scope() as session:
        # Rows land in the partitioned table (the DEFAULT partition until the daily ones exist).
        per_partition = dict(
            (
                await session.execute(
                    text("SELECT tableoid::regclass::text, count(*) FROM telemetry GROUP BY 1")
                )
            ).all()
        )
        stored = (await session.execute(select(telemetry).order_by(telemetry.c.seq))).mappings().all()
    assert sum(per_partition.values()) == 5
    assert stored[0]["mounts"] == {"/": 40.0}
    assert stored[0]["ts"].tzinfo is not None
    assert stored[3]["cpu_util"] == 3.0
    assert stored[0]["received_at"] >= stored[0]["ts"]


async def test_sqlite_path_stores_once_and_counts_duplicates(sqlite_settings: Settings, make_client) -> None:
    database = Database(sqlite_settings.db)
    try:
        agent = await create_api_token(database, Role.AGENT, host_id="web-1")
        async with make_client(sqlite_settings) as sqlite_client:
            batch = make_batch("web-1", n=30)
            first = await post(sqlite_client, agent.token, batch)
            assert first.json()["accepted"] == 30, first.text
            replay = await post(sqlite_client, agent.token, batch)
            assert replay.json()["duplicates"] == 30
            other = await post(sqlite_client, agent.token, make_batch("web-2", n=1))
            assert other.status_code == 403
        assert await count_rows(database) == 30
        async with database.session_scope() as session:
            row = (await session.execute(select(telemetry).where(telemetry.c.seq == 3))).mappings().one()
            host = await session.get(Host, "web-1")
        assert row["ts"].timestamp() == pytest.approx(batch["samples"][3]["ts"])
        assert row["mounts"] == {"/": 43.0}
        assert host is not None and host.latest_sample is not None and host.latest_sample["seq"] == 29
    finally:
        await database.dispose()


async def test_sqlite_serialises_concurrent_ingests_without_errors(sqlite_settings: Settings) -> None:
    database = Database(sqlite_settings.db)
    try:
        operator = await create_api_token(database, Role.OPERATOR)
        async with live_server(sqlite_settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
            responses = await asyncio.gather(
                *(
                    http.post(
                        "/api/v1/telemetry",
                        json=make_batch(f"host-{i}", n=200),
                        headers=bearer(operator.token),
                    )
                    for i in range(8)
                )
            )
        assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses if r.is_error]
        assert await count_rows(database) == 1600
    finally:
        await database.dispose()
