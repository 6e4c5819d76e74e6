"""The spool's meta file: epoch, ack cursor and cumulative counters, replaced atomically."""

from __future__ import annotations

from pathlib import Path

import msgspec

from agent._fs import atomic_write

__all__ = ["META_NAME", "SpoolMeta", "SpoolStats", "read_meta", "write_meta"]

META_NAME = "meta.json"


class SpoolMeta(msgspec.Struct, kw_only=True):
    """Everything about a spool that is not in its segments."""

    version: int = 1
    """Format version of the spool."""
    epoch: int
    """Random 63-bit id of this spool's incarnation (see :mod:`agent.wire`)."""
    acked_seq: int = -1
    """Every seq at or below is settled: acknowledged, dead-lettered or dropped by the cap."""
    seq_reserved: int = 0
    """Every seq ever assigned is below this; after a corrupt tail, numbering resumes here so no
    seq the server may already hold is reused."""
    dropped_total: int = 0
    """Unsent samples dropped to respect the size cap (cumulative, sent as ``spool_dropped_total``)."""
    lost_total: int = 0
    """Unsent samples lost to corruption: a cut segment, a missing segment (cumulative)."""
    truncated_total: int = 0
    """Times a corrupt or torn tail was cut off a segment."""
    dead_letter_total: int = 0
    """Samples moved to the dead-letter file because the server refused them as invalid."""
    created_at: float = 0.0
    """Unix time the spool (and its epoch) was created."""


class SpoolStats(msgspec.Struct, kw_only=True):
    """A spool's depth and counters."""

    epoch: int
    """The spool's epoch."""
    next_seq: int
    """Seq the next sample gets."""
    acked_seq: int
    """Everything at or below is settled."""
    unacked_samples: int
    """Samples on disk not yet acknowledged."""
    unacked_bytes: int
    """Bytes of those samples (whole segments are counted pro rata)."""
    segments: int
    """Segment files."""
    disk_bytes: int
    """Bytes of all segment files."""
    dropped_total: int
    """Dropped by the size cap (cumulative)."""
    lost_total: int
    """Lost to corruption (cumulative)."""
    truncated_total: int
    """Corrupt tails cut (cumulative)."""
    dead_letter_total: int
    """Samples moved to the dead-letter file (cumulative)."""


_DECODER = msgspec.json.Decoder(SpoolMeta)


def read_meta(directory: Path) -> SpoolMeta | None:
    """The meta file of a spool; ``None`` if missing, unreadable or corrupt."""
    try:
        return _DECODER.decode((directory / META_NAME).read_bytes())
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def write_meta(directory: Path, meta: SpoolMeta) -> None:
    """Replace the meta file atomically and durably."""
    atomic_write(directory / META_NAME, msgspec.json.encode(meta))
