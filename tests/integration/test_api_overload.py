"""Overload: past ``ingest.max_concurrent`` batches in progress, 429 with Retry-After at once (no queue)."""

from __future__ import annotations

import asyncio

import httpx
from cp_helpers import bearer, live_server, make_batch, settings_for
from sqlalchemy import func, select, text

from controlplane.db.models import telemetry
from controlplane.metrics import INGEST_IN_FLIGHT, INGEST_REJECTED


async def test_ingest_beyond_the_bound_gets_429_and_the_first_still_commits(pg_url, tokens, clean_pg) -> None:
    settings = settings_for(pg_url, ingest={"max_concurrent": 1, "retry_after_seconds": 7})
    rejected_before = INGEST_REJECTED.labels("overloaded")._value.get()
    async with live_server(settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        headers = bearer(tokens["agent"])
        assert (
            await http.post("/api/v1/telemetry", json=make_batch(n=1), headers=headers)
        ).status_code == 200

        # Hold the host's row lock: the next ingest of web-1 waits inside the server, holding its slot.
        async with clean_pg.engine.connect() as blocker:
            await blocker.execute(text("SELECT 1 FROM host WHERE host_id = 'web-1' FOR UPDATE"))
            slow = asyncio.create_task(
                http.post("/api/v1/telemetry", json=make_batch(n=5, start_seq=1), headers=headers)
            )
            for _ in range(500):
                if INGEST_IN_FLIGHT._value.get() >= 1:
                    break
                await asyncio.sleep(0.01)
            assert INGEST_IN_FLIGHT._value.get() == 1

            refused = await http.post(
                "/api/v1/telemetry", json=make_batch(n=5, start_seq=100), headers=headers
            )
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "7"
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["reason"] == "overloaded"
            assert not slow.done()
            await blocker.rollback()

        done = await slow
        assert done.status_code == 200
        assert done.json()["accepted"] == 5
        assert INGEST_IN_FLIGHT._value.get() == 0
        after = await http.post("/api/v1/telemetry", json=make_batch(n=1, start_seq=200), headers=headers)
        assert after.status_code == 200, "the slot is given back"
    assert INGEST_REJECTED.labels("overloaded")._value.get() - rejected_before == 1
    async with clean_pg.session_scope() as session:
        seqs = (await session.scalars(select(telemetry.c.seq).order_by(telemetry.c.seq))).all()
        assert await session.scalar(select(func.count()).select_from(telemetry)) == 7
    assert 100 not in seqs
