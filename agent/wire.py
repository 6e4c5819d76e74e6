"""The telemetry payload contract between the agent and the control plane.

A batch is ``{host_id, agent_version, epoch, samples: [{seq, ts, metrics...}], facts?, spool_dropped_total}``.
``(host_id, epoch, seq)`` identifies every sample for ever:

* ``epoch`` is a random 63-bit number chosen when an agent's spool is created (a new spool, a wiped disk,
  a reinstalled host: a new epoch), so sequence numbers never collide across incarnations;
* ``seq`` increases by one for every sample the agent produces within an epoch.

Replays are therefore idempotent: the control plane inserts on conflict do nothing and never double-counts.
The server answers 2xx only after the commit; 4xx is never retried (413: split the batch); 429, 502, 503,
504, timeouts and connection errors are.

This module is pure Python + msgspec: the agent, the control plane and the analytics generator import it.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, NamedTuple

import msgspec

__all__ = [
    "HOST_ID_PATTERN",
    "MAX_SAMPLES_PER_BATCH",
    "METRICS",
    "METRIC_NAMES",
    "UTILISATION_METRICS",
    "WIRE_VERSION",
    "Batch",
    "HostFacts",
    "IngestResult",
    "MetricSpec",
    "Sample",
    "decode_batch",
    "encode_batch",
]

WIRE_VERSION: Final = 1
MAX_SAMPLES_PER_BATCH: Final = 10_000
HOST_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,252}$"
_HOST_ID_RE = re.compile(HOST_ID_PATTERN)


class MetricSpec(NamedTuple):
    """One metric of the canonical schema."""

    name: str
    """Column name, the same on the wire, in Postgres, in the Parquet lake and in the feature code."""
    unit: str
    """``percent``, ``bytes_per_second``, ``ops_per_second``, ``count`` or ``load``."""
    upper: float | None
    """Inclusive upper bound enforced at ingest (``None``: unbounded)."""
    help: str
    """One line for humans (OpenAPI, docs, TUI)."""


# The seed's seven names (cpu_util, mem_util, disk_util, disk_io, network_in, network_out,
# active_processes) are kept exactly; the rest extend them. Every metric is >= 0.
METRICS: Final[tuple[MetricSpec, ...]] = (
    MetricSpec("cpu_util", "percent", 100.0, "CPU busy time, all cores, percent"),
    MetricSpec("mem_util", "percent", 100.0, "memory in use (total - available), percent"),
    MetricSpec("swap_util", "percent", 100.0, "swap in use, percent"),
    MetricSpec("disk_util", "percent", 100.0, "space used on the fullest real mount, percent"),
    MetricSpec("disk_io", "bytes_per_second", None, "disk read + write throughput, bytes/s"),
    MetricSpec("disk_iops", "ops_per_second", None, "disk read + write operations/s"),
    MetricSpec("network_in", "bytes_per_second", None, "bytes received/s, all non-loopback NICs"),
    MetricSpec("network_out", "bytes_per_second", None, "bytes sent/s, all non-loopback NICs"),
    MetricSpec("active_processes", "count", None, "number of processes"),
    MetricSpec("load1", "load", None, "1-minute load average"),
    MetricSpec("load5", "load", None, "5-minute load average"),
    MetricSpec("load15", "load", None, "15-minute load average"),
)
METRIC_NAMES: Final[tuple[str, ...]] = tuple(m.name for m in METRICS)
UTILISATION_METRICS: Final[tuple[str, ...]] = tuple(m.name for m in METRICS if m.unit == "percent")

Percent = Annotated[float, msgspec.Meta(ge=0.0, le=100.0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0)]
HostId = Annotated[str, msgspec.Meta(pattern=HOST_ID_PATTERN)]


class Sample(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One observation of one host at one instant. Absent metrics are ``None`` (not collected)."""

    seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    """Position of this sample in the agent's epoch: 0, 1, 2, ..."""
    ts: Annotated[float, msgspec.Meta(gt=0.0)]
    """Observation time, Unix epoch seconds (UTC)."""
    cpu_util: Percent | None = None
    """CPU busy time, all cores, percent."""
    mem_util: Percent | None = None
    """Memory in use, percent."""
    swap_util: Percent | None = None
    """Swap in use, percent."""
    disk_util: Percent | None = None
    """Space used on the fullest real mount, percent."""
    disk_io: NonNegative | None = None
    """Disk read + write bytes/s."""
    disk_iops: NonNegative | None = None
    """Disk read + write operations/s."""
    network_in: NonNegative | None = None
    """Bytes received/s on non-loopback interfaces."""
    network_out: NonNegative | None = None
    """Bytes sent/s on non-loopback interfaces."""
    active_processes: NonNegative | None = None
    """Number of processes."""
    load1: NonNegative | None = None
    """1-minute load average."""
    load5: NonNegative | None = None
    """5-minute load average."""
    load15: NonNegative | None = None
    """15-minute load average."""
    mounts: dict[str, Percent] | None = None
    """Space used per real mount point, percent (``disk_util`` is the maximum)."""


class HostFacts(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Slow-changing facts about a host, sent with the first batch after start and when they change."""

    hostname: str = ""
    """The host's own name (not necessarily its ``host_id``)."""
    os: str = ""
    """Operating system family, e.g. ``Linux``."""
    os_release: str = ""
    """Distribution / release string."""
    kernel: str = ""
    """Kernel release."""
    arch: str = ""
    """Machine architecture, e.g. ``x86_64``."""
    cpu_cores: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Logical CPUs."""
    memory_bytes: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Physical memory."""
    swap_bytes: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Swap space."""
    boot_time: Annotated[float, msgspec.Meta(ge=0.0)] = 0.0
    """Last boot, Unix epoch seconds."""
    role: str = ""
    """Free-form role label (web, db, batch, cache...); simulated hosts set it."""
    simulated: bool = False
    """True for hosts of the simulated fleet."""


class Batch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What the agent POSTs to ``/api/v1/telemetry``."""

    host_id: HostId
    """Stable identity of the host; an agent credential may only write its own."""
    agent_version: Annotated[str, msgspec.Meta(max_length=64)]
    """Version of the sending agent."""
    epoch: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    """Random id of the agent's spool incarnation (see module docstring)."""
    samples: Annotated[list[Sample], msgspec.Meta(max_length=MAX_SAMPLES_PER_BATCH)]
    """The samples, in any order; at most ``MAX_SAMPLES_PER_BATCH``."""
    facts: HostFacts | None = None
    """Host facts, when new or changed."""
    spool_dropped_total: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Samples this agent's spool has dropped (cap reached) since the epoch began; cumulative."""


class IngestResult(msgspec.Struct):
    """The control plane's answer to an accepted batch (sent only after the commit)."""

    host_id: str
    """Echo of the batch's host."""
    epoch: int
    """Echo of the batch's epoch."""
    accepted: int
    """Samples newly stored."""
    duplicates: int
    """Samples already stored (a replay); not stored twice."""


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Batch)


def encode_batch(batch: Batch) -> bytes:
    """Serialise a batch to JSON bytes (the wire form)."""
    return _ENCODER.encode(batch)


def decode_batch(body: bytes) -> Batch:
    """Parse and validate a JSON batch.

    Raises:
        msgspec.ValidationError: wrong type, unknown field, out-of-range value.
        msgspec.DecodeError: malformed JSON.
    """
    return _DECODER.decode(body)


def is_valid_host_id(host_id: str) -> bool:
    """Whether ``host_id`` matches :data:`HOST_ID_PATTERN`."""
    return bool(_HOST_ID_RE.match(host_id))
