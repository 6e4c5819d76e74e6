"""``cloudsense-agent run``: collect every interval into the spool and ship it, until told to stop."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import msgspec

from agent import wire
from agent.collectors import Collector, CollectorRegistry, Reading
from agent.enroll import CredentialManager, CredentialStore
from agent.facts import clean_metrics, collect_facts
from agent.log import bind, get_logger
from agent.shipper import AGENT_VERSION, Shipper, ShipperStats, make_client
from agent.spool import GroupCommitter, Spool
from agent.status import AgentStatus, HostPaths, read_status, write_status

if TYPE_CHECKING:
    from agent.settings import Settings
    from agent.source import SystemSource

__all__ = ["AgentRunner", "ConfigurationError", "default_host_id"]

log = get_logger(__name__)


class ConfigurationError(RuntimeError):
    """The agent cannot start with this configuration."""


def default_host_id() -> str:
    """The hostname, made to fit :data:`agent.wire.HOST_ID_PATTERN`."""
    name = re.sub(r"[^A-Za-z0-9._:@-]", "-", socket.gethostname()).lstrip("._:@-")[:253]
    return name or "localhost"


def _read_token_file(path: str) -> str | None:
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        log.error("enroll_token_unreadable", path=path, error=str(exc))
        return None


class AgentRunner:
    """One agent: collectors, spool, group commit, shipper and status file, on one event loop.

    Args:
        settings: the agent's settings.
        source: the system to read (default: psutil).
        client: HTTP client (default: one built from the settings).
        registry: collector registry (default: the installed entry points).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        source: SystemSource | None = None,
        client: httpx.AsyncClient | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._settings = settings.agent
        if source is None:
            from agent.source import PsutilSource

            source = PsutilSource()
        self._source = source
        self._client = client
        self._registry = registry
        self._paths = HostPaths(Path(self._settings.state_dir))
        self._facts: wire.HostFacts | None = None
        self._produced = 0
        self._collect_errors = 0
        self._collectors: list[Collector] = []

    def _resolve(self) -> tuple[str, str]:
        stored = CredentialStore(self._paths.credential).load()
        host_id = self._settings.host_id or (stored.host_id if stored else "") or default_host_id()
        if not wire.is_valid_host_id(host_id):
            raise ConfigurationError(f"host_id {host_id!r} does not match {wire.HOST_ID_PATTERN}")
        server = self._settings.server_url or (stored.server if stored else "")
        if not server:
            raise ConfigurationError(
                "server_url is not set (config [agent] server_url or CLOUDSENSE_AGENT__SERVER_URL)"
            )
        return host_id, server

    def _collect(self, collectors: list[Collector]) -> tuple[float, Reading]:
        ts = self._source.wall_time()
        reading: Reading = {}
        for collector in collectors:
            try:
                reading.update(collector.collect(self._source))
            except Exception as exc:  # noqa: BLE001 (one broken collector must not stop the others)
                self._collect_errors += 1
                log.warning(
                    "collector_failed", collector=collector.name, error=f"{type(exc).__name__}: {exc}"
                )
        try:
            self._facts = collect_facts(self._source)
        except Exception as exc:  # noqa: BLE001
            log.warning("facts_failed", error=f"{type(exc).__name__}: {exc}")
        return ts, reading

    async def _collect_loop(
        self,
        collectors: list[Collector],
        spool: Spool,
        committer: GroupCommitter,
        status: AgentStatus,
        stats: ShipperStats,
    ) -> None:
        """Each tick: collect, append, wake the committer, then rewrite the status file.

        The status file rides on the collection tick rather than a timer of its own: an idle agent then
        wakes once per interval (plus the commit and ship that the new sample triggers), not twice. The
        shipper's counts in it are those of the previous tick's batch, and a collection that hangs stops the
        rewrites: the ``updated_at`` that ``cloudsense-agent status`` prints then goes stale.
        """
        interval = self._settings.interval_seconds
        next_tick = time.monotonic()
        while True:
            ts, reading = await asyncio.to_thread(self._collect, collectors)
            try:
                spool.append(ts, clean_metrics(reading))
                self._produced += 1
                committer.notify()
            except (OSError, ValueError, msgspec.ValidationError) as exc:
                log.error("spool_append_failed", error=f"{type(exc).__name__}: {exc}")
            self._write_status(status, spool, stats, running=True)
            next_tick += interval
            now = time.monotonic()
            if next_tick < now:  # collection overran the interval (or the machine slept): skip ticks
                skipped = int((now - next_tick) // interval) + 1
                next_tick += skipped * interval
                log.warning("collection_overrun", skipped_ticks=skipped)
            await asyncio.sleep(next_tick - now)

    def _write_status(self, status: AgentStatus, spool: Spool, stats: ShipperStats, *, running: bool) -> None:
        status.epoch, status.running, status.shipper = spool.epoch, running, stats
        status.samples_produced, status.collect_errors = self._produced, self._collect_errors
        status.stuck_mounts = sorted({m for c in self._collectors for m in getattr(c, "stuck_mounts", ())})
        try:
            write_status(self._paths.status, status)
        except OSError as exc:
            log.warning("status_write_failed", error=str(exc))

    async def run(self, stop: asyncio.Event) -> int:
        """Run until ``stop`` is set, then stop gracefully. Returns the process exit code.

        Raises:
            ConfigurationError: no server URL, an invalid host id, or no collector to run.
        """
        host_id, server = self._resolve()
        bind(host_id=host_id)
        registry = self._registry or CollectorRegistry.from_entry_points()
        collectors = self._collectors = registry.create(self._settings.collectors, self._settings)
        if not collectors:
            raise ConfigurationError(f"no collector to run (load errors: {registry.load_errors})")
        self._paths.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        spool = Spool.open(
            self._paths.spool,
            max_bytes=self._settings.spool_max_bytes,
            segment_bytes=self._settings.spool_segment_bytes,
            dead_letter_max_bytes=self._settings.dead_letter_max_bytes,
        )
        previous = read_status(self._paths.status)
        stats = previous.shipper if previous is not None and previous.host_id == host_id else ShipperStats()
        status = AgentStatus(
            host_id=host_id,
            epoch=spool.epoch,
            pid=os.getpid(),
            agent_version=AGENT_VERSION,
            running=True,
            started_at=time.time(),
            updated_at=time.time(),
        )
        client = self._client or make_client(self._settings)
        committer = GroupCommitter(self._settings.fsync_interval_seconds)
        credentials = CredentialManager(
            CredentialStore(self._paths.credential),
            client=client,
            server=server,
            host_id=host_id,
            enroll_token=lambda: _read_token_file(self._settings.enroll_token_file),
            facts=lambda: self._facts or collect_facts(self._source),
        )
        shipper = Shipper(
            spool=spool,
            client=client,
            server_url=server,
            host_id=host_id,
            credentials=credentials,
            durable=committer.register(spool),
            settings=self._settings,
            facts=lambda: self._facts,
            stats=stats,
        )
        log.info("agent_started", server=server, collectors=[c.name for c in collectors], epoch=spool.epoch)
        background = [
            asyncio.create_task(committer.run(), name="commit"),
            asyncio.create_task(
                self._collect_loop(collectors, spool, committer, status, stats), name="collect"
            ),
        ]
        ship = asyncio.create_task(shipper.run(), name="ship")
        failed = False
        try:
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait([stopper, ship, *background], return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            for task in done:
                if task is not stopper and not task.cancelled() and task.exception() is not None:
                    failed = True
                    log.error("agent_task_failed", task=task.get_name(), error=repr(task.exception()))
            log.info("agent_stopping")
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await committer.flush()
            shipper.request_stop(drain=False)
            # An in-flight batch may finish (and be acked) within the grace; otherwise it stays spooled.
            await asyncio.wait([ship], timeout=self._settings.shutdown_grace_seconds)
            ship.cancel()
            await asyncio.gather(ship, return_exceptions=True)
            spool.close()
            self._write_status(status, spool, stats, running=False)
            if self._client is None:
                await client.aclose()
            log.info("agent_stopped", produced=self._produced, unacked=spool.stats().unacked_samples)
        return 1 if failed else 0
