"""Read-only look at a spool directory (``cloudsense-agent status``): safe while an agent runs."""

from __future__ import annotations

from pathlib import Path

from agent.spool._format import RECORD_HEADER, SEGMENT_HEADER, parse_segment_name, read_record
from agent.spool._meta import SpoolStats, read_meta

__all__ = ["inspect_spool"]


def inspect_spool(directory: Path) -> SpoolStats | None:
    """Exact depth and counters of the spool in ``directory``; ``None`` if there is none.

    Nothing is repaired or written: a corrupt tail simply ends the count of its segment.
    """
    meta = read_meta(directory)
    if meta is None:
        return None
    acked = meta.acked_seq
    unacked = unacked_bytes = disk = count = 0
    next_seq = acked + 1
    for path in sorted(directory.glob("*.seg")):
        first = parse_segment_name(path.name)
        if first is None:
            continue
        count += 1
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            continue  # settled meanwhile
        with fh:
            disk += path.stat().st_size
            fh.seek(SEGMENT_HEADER.size)
            seq = first
            while (payload := read_record(fh)) is not None:
                if seq > acked:
                    unacked += 1
                    unacked_bytes += RECORD_HEADER.size + len(payload)
                seq += 1
            next_seq = max(next_seq, seq)
    return SpoolStats(
        epoch=meta.epoch,
        next_seq=next_seq,
        acked_seq=acked,
        unacked_samples=unacked,
        unacked_bytes=unacked_bytes,
        segments=count,
        disk_bytes=disk,
        dropped_total=meta.dropped_total,
        lost_total=meta.lost_total,
        truncated_total=meta.truncated_total,
        dead_letter_total=meta.dead_letter_total,
    )
