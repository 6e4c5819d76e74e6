"""Telemetry partitions and retention (Postgres, SQLite), and the scheduler that runs the job."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from cp_helpers import settings_for
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agent.wire import Batch, Sample
from controlplane.db.models import telemetry
from controlplane.db.session import Database
from controlplane.domain.telemetry.partitions import maintain, partition_name
from controlplane.domain.telemetry.store import insert_samples
from controlplane.metrics import JOB_RUNS
from controlplane.scheduler.locks import job_lock
from controlplane.scheduler.runner import LeaderElector, SchedulerRunner

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def batch_at(*moments: datetime, host_id: str = "web-1") -> Batch:
    samples = [Sample(seq=i, ts=m.timestamp(), cpu_util=1.0) for i, m in enumerate(moments)]
    return Batch(host_id=host_id, agent_version="t", epoch=1, samples=samples)


async def partitions(session: AsyncSession) -> set[str]:
    rows = await session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'telemetry'::regclass"
        )
    )
    return {name for (name,) in rows}


async def rows_by_partition(session: AsyncSession) -> dict[str, int]:
    result = await session.execute(
        text("SELECT tableoid::regclass::text, count(*) FROM telemetry GROUP BY 1")
    )
    return {name: count for name, count in result.all()}


async def test_partitions_are_created_ahead_rows_moved_out_of_default_and_old_days_dropped(
    db_session,
) -> None:
    three_days_ago = NOW - timedelta(days=3)
    ancient = NOW - timedelta(days=40)
    await insert_samples(
        db_session, batch_at(three_days_ago, three_days_ago + timedelta(hours=1), ancient), NOW
    )
    assert await rows_by_partition(db_session) == {"telemetry_default": 3}

    report = await maintain(db_session, retention_days=5, ahead_days=2, now=NOW)
    days = [NOW.date() + timedelta(days=d) for d in range(-4, 3)]
    assert sorted(report.created) == [partition_name(d) for d in days]
    assert report.moved_rows == 2
    assert report.deleted_rows == 1, "a row older than retention in the default partition is deleted"
    assert await partitions(db_session) == {"telemetry_default", *report.created}
    assert await rows_by_partition(db_session) == {partition_name(three_days_ago.date()): 2}

    again = await maintain(db_session, retention_days=5, ahead_days=2, now=NOW)
    assert (again.created, again.dropped, again.moved_rows) == ([], [], 0), "idempotent"

    later = await maintain(db_session, retention_days=5, ahead_days=2, now=NOW + timedelta(days=2))
    assert later.dropped == [partition_name(NOW.date() - timedelta(days=d)) for d in (4, 3)]
    assert later.created == [partition_name(NOW.date() + timedelta(days=d)) for d in (3, 4)]
    assert await db_session.scalar(select(func.count()).select_from(telemetry)) == 0, (
        "the day was dropped whole"
    )


async def test_new_rows_route_to_their_daily_partition(db_session) -> None:
    await maintain(db_session, retention_days=2, ahead_days=1, now=NOW)
    await insert_samples(db_session, batch_at(NOW, NOW + timedelta(days=1), NOW + timedelta(days=9)), NOW)
    assert await rows_by_partition(db_session) == {
        partition_name(NOW.date()): 1,
        partition_name(NOW.date() + timedelta(days=1)): 1,
        "telemetry_default": 1,
    }


async def test_sqlite_retention_deletes_old_rows(sqlite_settings) -> None:
    database = Database(sqlite_settings.db)
    try:
        async with database.session_scope() as session:
            await insert_samples(
                session, batch_at(NOW - timedelta(days=10), NOW - timedelta(days=1), NOW), NOW
            )
        async with database.session_scope() as session:
            report = await maintain(session, retention_days=3, ahead_days=1, now=NOW)
        async with database.session_scope() as session:
            left = await session.scalar(select(func.count()).select_from(telemetry))
    finally:
        await database.dispose()
    assert report.deleted_rows == 1
    assert left == 2


async def test_job_lock_is_exclusive_per_transaction(pg) -> None:
    async with pg.session_scope() as first, pg.session_scope() as second:
        assert await job_lock(first, "test.job")
        assert not await job_lock(second, "test.job")
        assert await job_lock(second, "test.other")
    async with pg.session_scope() as third:
        assert await job_lock(third, "test.job"), "released at commit"


async def wait_for(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def test_one_leader_at_a_time_and_failover(pg_settings) -> None:
    databases = [Database(pg_settings.db), Database(pg_settings.db)]
    electors = [LeaderElector(db, key=0x7E57, poll_seconds=0.05) for db in databases]
    tasks = [asyncio.create_task(e.run()) for e in electors]
    try:
        await wait_for(lambda: any(e.is_leader for e in electors), "a leader")
        await asyncio.sleep(0.3)  # several polls: the follower must not take over
        assert sum(e.is_leader for e in electors) == 1
        leader = next(i for i, e in enumerate(electors) if e.is_leader)
        electors[leader].stop()
        await tasks[leader]
        follower = electors[1 - leader]
        await wait_for(lambda: follower.is_leader, "failover")
    finally:
        for elector in electors:
            elector.stop()
        await asyncio.gather(*tasks)
        for database in databases:
            await database.dispose()


async def test_scheduler_leader_runs_maintenance_at_start(pg_url, pg) -> None:
    settings = settings_for(
        pg_url, scheduler={"enabled": True, "leader_poll_seconds": 0.05, "leader_lock_key": 0x7E58}
    )
    database = Database(settings.db)
    runner = SchedulerRunner(database, settings)
    runs = JOB_RUNS.labels("telemetry.maintain_partitions", "ok")
    before = runs._value.get()
    await runner.start()
    try:
        await wait_for(lambda: runs._value.get() > before, "the maintenance job")
    finally:
        await runner.stop()
        await database.dispose()
    async with pg.session_scope() as session:
        names = await partitions(session)
    today = datetime.now(UTC).date()
    assert partition_name(today) in names
    assert partition_name(today + timedelta(days=settings.telemetry.partitions_ahead_days)) in names
