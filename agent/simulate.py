"""``cloudsense-agent simulate``: a fleet of simulated hosts through the very same spool and shipper.

Each host is a real agent identity: its own directory ``<state_dir>/<host_id>/`` (credential, spool,
epoch, seq), its own enrollment (with one multi-use enrollment token) and its own shipper; they share
one process, one HTTP client with bounded concurrency and one group commit. ``<state_dir>/fleet.json``
remembers the seed and the fleet's start time, so a restart resumes the same hosts where they were.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import msgspec

from agent import wire
from agent._fs import atomic_write
from agent.enroll import CredentialManager, CredentialStore
from agent.facts import clean_metrics
from agent.log import bind, get_logger
from agent.shipper import Shipper, ShipperStats, make_client
from agent.spool import GroupCommitter, Spool
from agent.status import FLEET_FILE, HostPaths

if TYPE_CHECKING:
    from agent.settings import AgentSettings

__all__ = ["FleetFactory", "SimulatedHostLike", "SimulationError", "SimulationResult", "run_simulation"]

log = get_logger(__name__)


class SimulatedHostLike(Protocol):
    """What the simulation model's hosts offer (see ``agent.simulation``)."""

    host_id: str
    role: str
    facts: wire.HostFacts

    def sample_at(self, ts: float) -> dict[str, float]:
        """Metrics at Unix time ``ts`` (calls come with non-decreasing ``ts``)."""
        ...


FleetFactory = Callable[[int, int, float], Sequence[SimulatedHostLike]]
"""``make_fleet(n_hosts, seed, start_ts)``."""


class SimulationError(RuntimeError):
    """The simulation cannot start (state dir of another fleet, hosts not enrolled...)."""


class SimulationResult(msgspec.Struct):
    """The one JSON line ``simulate`` prints on exit."""

    produced: int
    """Samples produced by this run."""
    acked: int
    """Samples the server acknowledged during this run (backlog of earlier runs included)."""
    spooled: int
    """Samples still unacknowledged on disk, all hosts."""
    dropped: int
    """Samples dropped by the spool cap during this run."""


class _FleetFile(msgspec.Struct):
    seed: int
    hosts: int
    start_ts: float


@dataclass
class _Host:
    model: SimulatedHostLike
    spool: Spool
    shipper: Shipper
    dropped_at_start: int
    produced: int = 0
    task: asyncio.Task[None] | None = field(default=None)


def _default_factory() -> FleetFactory:
    from agent.simulation import make_fleet

    factory: FleetFactory = make_fleet
    return factory


def _fleet_start(state_dir: Path, hosts: int, seed: int, now: float) -> float:
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state_dir / FLEET_FILE
    try:
        saved = msgspec.json.decode(path.read_bytes(), type=_FleetFile)
    except FileNotFoundError:
        saved = None
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SimulationError(f"{path} is unreadable: {exc}") from exc
    if saved is not None and saved.seed != seed:
        raise SimulationError(
            f"{state_dir} holds the fleet of seed {saved.seed}, not {seed}: use another --state-dir"
        )
    start = saved.start_ts if saved is not None else now
    atomic_write(
        path,
        msgspec.json.encode(
            _FleetFile(seed=seed, hosts=max(hosts, saved.hosts if saved else 0), start_ts=start)
        ),
    )
    return start


async def _produce(
    host: _Host, committer: GroupCommitter, interval: float, offset: float, clock: Callable[[], float]
) -> None:
    bind(host_id=host.model.host_id)
    loop = asyncio.get_running_loop()
    next_tick = loop.time() + offset
    while True:
        await asyncio.sleep(max(0.0, next_tick - loop.time()))
        ts = clock()
        try:
            metrics = clean_metrics(host.model.sample_at(ts))
        except Exception as exc:  # noqa: BLE001 (a model bug costs a sample, not the host's producer)
            log.error("simulated_sample_failed", error=f"{type(exc).__name__}: {exc}")
        else:
            try:
                host.spool.append(ts, metrics)
                host.produced += 1
                committer.notify()
            except (OSError, ValueError, msgspec.ValidationError) as exc:
                log.error("spool_append_failed", error=f"{type(exc).__name__}: {exc}")
        next_tick += interval
        if next_tick < loop.time():
            next_tick += ((loop.time() - next_tick) // interval + 1) * interval


async def _open_spools(settings: AgentSettings, directories: list[Path]) -> list[Spool]:
    """Open every host's spool in worker threads (each open fsyncs: hundreds in a row would crawl)."""

    def open_one(directory: Path) -> Spool:
        return Spool.open(
            directory,
            max_bytes=settings.spool_max_bytes,
            segment_bytes=settings.spool_segment_bytes,
            dead_letter_max_bytes=settings.dead_letter_max_bytes,
        )

    opened = await asyncio.gather(
        *(asyncio.to_thread(open_one, d) for d in directories), return_exceptions=True
    )
    spools = [s for s in opened if isinstance(s, Spool)]
    failures = [e for e in opened if isinstance(e, BaseException)]
    if failures:
        await asyncio.gather(*(asyncio.to_thread(s.close) for s in spools), return_exceptions=True)
        raise SimulationError(f"cannot open a host's spool: {failures[0]}") from failures[0]
    return spools


async def _ship(host: _Host) -> None:
    bind(host_id=host.model.host_id)
    await host.shipper.run()


async def run_simulation(
    settings: AgentSettings,
    *,
    hosts: int,
    seed: int,
    server: str,
    state_dir: Path,
    stop: asyncio.Event,
    interval: float | None = None,
    duration: float | None = None,
    enroll_token: str | None = None,
    concurrency: int = 16,
    grace: float = 10.0,
    fleet_factory: FleetFactory | None = None,
    client: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> SimulationResult:
    """Run a simulated fleet until ``duration`` elapses or ``stop`` is set, then drain for ``grace``.

    Raises:
        SimulationError: the state dir belongs to another seed, or a host is not enrolled and no
            enrollment token was given.
    """
    interval = interval or settings.interval_seconds
    start_ts = _fleet_start(state_dir, hosts, seed, clock())
    models = list((fleet_factory or _default_factory())(hosts, seed, start_ts))
    if not enroll_token:
        missing = [m.host_id for m in models if not HostPaths(state_dir / m.host_id).credential.exists()]
        if missing:
            raise SimulationError(
                f"{len(missing)} hosts (e.g. {missing[0]}) are not enrolled: pass --enroll-token"
            )
    http = client or make_client(settings, max_connections=concurrency)
    limiter = asyncio.Semaphore(concurrency)
    committer = GroupCommitter(settings.fsync_interval_seconds)
    fleet: list[_Host] = []
    try:
        spools = await _open_spools(settings, [HostPaths(state_dir / m.host_id).spool for m in models])
        for model, spool in zip(models, spools, strict=True):
            paths = HostPaths(state_dir / model.host_id)
            credentials = CredentialManager(
                CredentialStore(paths.credential),
                client=http,
                server=server,
                host_id=model.host_id,
                enroll_token=enroll_token,
                facts=lambda m=model: m.facts,  # type: ignore[misc]
            )
            shipper = Shipper(
                spool=spool,
                client=http,
                server_url=server,
                host_id=model.host_id,
                credentials=credentials,
                durable=committer.register(spool),
                settings=settings,
                facts=lambda m=model: m.facts,  # type: ignore[misc]
                stats=ShipperStats(),
                limiter=limiter,
            )
            fleet.append(_Host(model, spool, shipper, spool.dropped_total))
        log.info("simulation_started", hosts=len(fleet), seed=seed, interval_seconds=interval, server=server)
        commit_task = asyncio.create_task(committer.run())
        producers = [
            asyncio.create_task(_produce(h, committer, interval, interval * i / max(1, len(fleet)), clock))
            for i, h in enumerate(fleet)
        ]
        shippers = [asyncio.create_task(_ship(h)) for h in fleet]
        try:
            await asyncio.wait_for(stop.wait(), duration)
        except TimeoutError:
            pass
        for task in producers:
            task.cancel()
        await asyncio.gather(*producers, return_exceptions=True)
        await committer.flush()
        for host in fleet:
            host.shipper.request_stop(drain=True)
        _, pending = await asyncio.wait(shippers, timeout=grace) if shippers else (set(), set())
        for task in (*pending, commit_task):
            task.cancel()
        await asyncio.gather(*shippers, commit_task, return_exceptions=True)
    finally:
        await asyncio.gather(*(asyncio.to_thread(h.spool.close) for h in fleet), return_exceptions=True)
        if client is None:
            await http.aclose()
    result = SimulationResult(
        produced=sum(h.produced for h in fleet),
        acked=sum(h.shipper.stats.samples_acked for h in fleet),
        spooled=sum(h.spool.stats().unacked_samples for h in fleet),
        dropped=sum(h.spool.dropped_total - h.dropped_at_start for h in fleet),
    )
    log.info("simulation_stopped", **msgspec.to_builtins(result))
    return result


def result_line(result: SimulationResult) -> str:
    """The JSON line printed on exit (keys in a fixed order)."""
    data: dict[str, Any] = msgspec.to_builtins(result)
    return msgspec.json.encode(data).decode()
