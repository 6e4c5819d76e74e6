"""Run the job table on an APScheduler ``AsyncIOScheduler``; only the elected leader fires jobs.

Leader election: a session-level ``pg_try_advisory_lock`` held on one dedicated connection. Followers retry
every ``leader_poll_seconds``; the leader checks its connection as often and steps down when it fails (the
server then releases the lock). On SQLite there is one node, which always leads. Every job also takes its
own transaction lock, so even two leaders (during a network partition) would not run a job twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from controlplane.metrics import JOB_RUNS, SCHEDULER_LEADER
from controlplane.scheduler.schedule import JobSpec, jobs

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from controlplane.db.session import Database
    from controlplane.settings import Settings

__all__ = ["LeaderElector", "SchedulerRunner"]

log = structlog.get_logger()


class LeaderElector:
    """Holds (or tries to take) the scheduler's advisory lock."""

    def __init__(self, database: Database, key: int, poll_seconds: float) -> None:
        """Create the elector (nothing runs until :meth:`run`)."""
        self._database = database
        self._key = key
        self._poll_seconds = poll_seconds
        self._connection: AsyncConnection | None = None
        self._stopping = asyncio.Event()
        self.is_leader = False
        self.became_leader = asyncio.Event()

    async def run(self) -> None:
        """Campaign until :meth:`stop`."""
        while not self._stopping.is_set():
            await self._step()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll_seconds)
        await self._resign()

    def stop(self) -> None:
        """End the campaign (the lock is released)."""
        self._stopping.set()

    async def _step(self) -> None:
        if self._database.dialect != "postgresql":
            self._set_leader(True)
            return
        try:
            if self._connection is None:
                connection = await self._database.engine.connect()
                granted = await connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key})
                await connection.commit()
                if granted:
                    self._connection = connection
                    self._set_leader(True)
                else:
                    await connection.close()
            else:
                await self._connection.execute(text("SELECT 1"))
                await self._connection.commit()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("scheduler_leadership_check_failed", error=type(exc).__name__)
            await self._resign()

    def _set_leader(self, leader: bool) -> None:
        if leader and not self.is_leader:
            log.info("scheduler_leader_elected")
            self.became_leader.set()
        elif not leader and self.is_leader:
            if self._stopping.is_set():
                log.info("scheduler_leader_resigned")
            else:
                log.warning("scheduler_leadership_lost")
        self.is_leader = leader
        SCHEDULER_LEADER.set(1 if leader else 0)

    async def _resign(self) -> None:
        connection, self._connection = self._connection, None
        self._set_leader(False)
        if connection is not None:
            with contextlib.suppress(SQLAlchemyError, OSError):
                await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                await connection.commit()
            with contextlib.suppress(SQLAlchemyError, OSError):
                await connection.close()


class SchedulerRunner:
    """The scheduler plus its leader election, started and stopped together."""

    def __init__(self, database: Database, settings: Settings) -> None:
        """Create the runner (nothing runs until :meth:`start`)."""
        self._database = database
        self._settings = settings
        self._specs = jobs(settings)
        self.elector = LeaderElector(
            database, settings.scheduler.leader_lock_key, settings.scheduler.leader_poll_seconds
        )
        self._scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def run_job(self, spec: JobSpec) -> None:
        """Run one job now if this process leads (what the scheduler calls)."""
        if not self.elector.is_leader:
            return
        structlog.contextvars.bind_contextvars(job=spec.name)
        try:
            await spec.func(self._database, self._settings)
        except Exception:
            JOB_RUNS.labels(spec.name, "error").inc()
            log.exception("job_failed")
        else:
            JOB_RUNS.labels(spec.name, "ok").inc()

    async def start(self) -> None:
        """Start the scheduler and the election (jobs marked ``run_at_start`` run once leadership is won)."""
        for spec in self._specs:
            self._scheduler.add_job(
                self.run_job, "interval", args=[spec], id=spec.name, seconds=spec.interval_seconds
            )
        self._scheduler.start()
        self._tasks = [
            asyncio.create_task(self.elector.run(), name="scheduler-election"),
            asyncio.create_task(self._on_election(), name="scheduler-kickoff"),
        ]
        log.info("scheduler_started", jobs=[s.name for s in self._specs])

    async def _on_election(self) -> None:
        while True:
            await self.elector.became_leader.wait()
            self.elector.became_leader.clear()
            for spec in self._specs:
                if spec.run_at_start:
                    self._scheduler.modify_job(spec.name, next_run_time=datetime.now(UTC))

    async def stop(self) -> None:
        """Stop firing jobs and resign."""
        self._scheduler.shutdown(wait=False)
        self.elector.stop()
        election, kickoff = self._tasks
        kickoff.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await kickoff
        await election
        log.info("scheduler_stopped")
