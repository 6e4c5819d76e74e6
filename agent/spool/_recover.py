"""Opening a spool after any kind of stop: cut what is corrupt, count what is lost, never crash-loop."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from agent.log import get_logger
from agent.spool._format import SEGMENT_HEADER, parse_segment_name, scan_segment, write_header
from agent.spool._meta import SpoolMeta, read_meta

__all__ = ["Recovered", "SegmentInfo", "recover"]

log = get_logger(__name__)


@dataclass
class SegmentInfo:
    """A segment file and how many valid records (and bytes) it holds."""

    first: int
    path: Path
    count: int
    size: int

    @property
    def last(self) -> int:
        """Seq of the last record (``first - 1`` when empty)."""
        return self.first + self.count - 1


@dataclass
class Recovered:
    """The state of a spool directory after recovery."""

    meta: SpoolMeta
    segments: list[SegmentInfo]
    next_seq: int
    contiguous_end: int
    """Where numbering would resume without a jump (``next_seq`` is greater after a corrupt tail)."""


def _discard(path: Path, reason: str) -> None:
    log.warning("spool_segment_discarded", path=str(path), reason=reason)
    path.unlink(missing_ok=True)


def recover(directory: Path) -> Recovered:
    """Scan ``directory``, repair it in place and say where numbering resumes.

    * a segment with a torn or foreign header is deleted (its records count as a gap);
    * a segment whose tail is corrupt (bit flip, zeroed length, truncated record) is cut at the first
      bad record and ``truncated_total`` grows;
    * a gap between segments (a missing segment, a cut middle segment) adds its unsent samples to
      ``lost_total``;
    * fully acknowledged segments are deleted;
    * after any of these, ``next_seq`` resumes at the reserved high-water mark so no seq is reused.
    """
    for tmp in directory.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
    meta = read_meta(directory)
    found = sorted(
        (first, path) for path in directory.iterdir() if (first := parse_segment_name(path.name)) is not None
    )
    scans = [(first, path, scan_segment(path)) for first, path in found]
    suspicious = meta is None and bool(scans)
    if meta is None:
        epoch = next((scan.epoch for _, _, scan in scans if scan.epoch is not None), None)
        if epoch is None:
            epoch = secrets.randbits(63)
            log.info("spool_created", directory=str(directory), epoch=epoch)
        else:
            log.warning("spool_meta_missing", directory=str(directory), epoch=epoch)
        meta = SpoolMeta(epoch=epoch, created_at=time.time())
        have_cursor = False
    else:
        have_cursor = True
    acked = meta.acked_seq
    segments: list[SegmentInfo] = []
    for first, path, scan in scans:
        if scan.epoch != meta.epoch:
            if scan.file_bytes > SEGMENT_HEADER.size or scan.epoch is not None:
                suspicious = True
            _discard(path, "bad header" if scan.epoch is None else f"foreign epoch {scan.epoch}")
            continue
        prev_end = segments[-1].last + 1 if segments else None
        if prev_end is not None and first < prev_end:
            suspicious = True
            _discard(path, f"overlaps the previous segment (starts at {first}, expected {prev_end})")
            continue
        low = prev_end if prev_end is not None else (acked + 1 if have_cursor else first)
        low = max(low, acked + 1)
        if min(first, scan.declared_from) > low:
            # Count the loss once, then declare it in the header so the next open does not recount it.
            suspicious = True
            meta.lost_total += min(first, scan.declared_from) - low
            log.error("spool_gap", directory=str(directory), missing_from=low, missing_to=first - 1)
            write_header(path, meta.epoch, low)
        if scan.valid_bytes < scan.file_bytes:
            suspicious = True
            meta.truncated_total += 1
            log.error(
                "spool_tail_cut",
                path=str(path),
                valid_records=scan.records,
                cut_bytes=scan.file_bytes - max(scan.valid_bytes, SEGMENT_HEADER.size),
            )
            os.truncate(path, max(scan.valid_bytes, SEGMENT_HEADER.size))
        segments.append(SegmentInfo(first, path, scan.records, max(scan.valid_bytes, SEGMENT_HEADER.size)))
    contiguous_end = next_seq = max(acked + 1, segments[-1].last + 1 if segments else 0)
    if suspicious and have_cursor:
        next_seq = max(next_seq, meta.seq_reserved)
    while segments and segments[0].last <= acked:
        segments.pop(0).path.unlink(missing_ok=True)
    for seg in segments:
        # What an earlier process wrote may still be only in the page cache: make it durable before it
        # can be shipped (a shipped sample must never be lost).
        fd = os.open(seg.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return Recovered(meta=meta, segments=segments, next_seq=next_seq, contiguous_end=contiguous_end)
