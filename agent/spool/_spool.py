"""The durable spool: every sample is on disk before it is sent, and only fsynced samples are sent."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from agent import wire
from agent._fs import fsync_dir
from agent.log import get_logger
from agent.spool._deadletter import DEAD_LETTER_NAME, append_dead_letter
from agent.spool._format import MAGIC, SEGMENT_HEADER, encode_record, read_record, segment_name, write_header
from agent.spool._meta import SpoolMeta, SpoolStats, write_meta
from agent.spool._recover import Recovered, SegmentInfo, recover

__all__ = ["Spool", "SpoolClosed", "SpoolLocked"]

log = get_logger(__name__)
LOCK_NAME = ".lock"
MIB = 1024 * 1024
# Seq numbers are reserved in blocks in the meta file (see SpoolMeta.seq_reserved).
_RESERVE = 1 << 16


class SpoolClosed(RuntimeError):
    """The spool was closed."""


class SpoolLocked(RuntimeError):
    """Another process (a second agent on the same state dir) has the spool open."""


def _lock(directory: Path) -> int:
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SpoolLocked(f"{directory} is in use by another cloudsense-agent process") from None
    return fd


class Spool:
    """Append-only segment files with a persistent ack cursor, one directory per host identity.

    Thread-safe: appends and reads happen on the event loop, fsync and meta writes may run in worker
    threads. Use :meth:`open`, not the constructor.
    """

    def __init__(
        self, directory: Path, max_bytes: int, segment_bytes: int, dead_letter_max_bytes: int
    ) -> None:
        self.directory = directory
        self._max_bytes = max_bytes
        self._segment_bytes = max(min(segment_bytes, max_bytes), SEGMENT_HEADER.size + 4096)
        self._dead_letter_max = dead_letter_max_bytes
        self._lock = threading.Lock()
        self._meta_lock = threading.Lock()
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(wire.Sample)
        self._segments: list[SegmentInfo] = []
        self._fd = -1
        self._next_seq = 0
        self._durable_seq = -1
        self._dir_dirty = False
        self._read_hint: tuple[int, int, int] | None = None  # (segment first, seq, offset)
        self._closed = False
        self._meta = SpoolMeta(epoch=0)
        self._lock_fd = -1

    @classmethod
    def open(
        cls,
        directory: Path,
        *,
        max_bytes: int = 256 * MIB,
        segment_bytes: int = 8 * MIB,
        dead_letter_max_bytes: int = 16 * MIB,
    ) -> Spool:
        """Open (or create) the spool in ``directory``, repairing whatever a crash left behind."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_fd = _lock(directory)
        try:
            spool = cls(directory, max_bytes, segment_bytes, dead_letter_max_bytes)
            spool._lock_fd = lock_fd
            spool._adopt(recover(directory))
        except BaseException:
            os.close(lock_fd)
            raise
        log.info(
            "spool_opened",
            directory=str(directory),
            epoch=spool._meta.epoch,
            next_seq=spool._next_seq,
            acked_seq=spool._meta.acked_seq,
        )
        return spool

    def _adopt(self, state: Recovered) -> None:
        self._meta, self._segments, self._next_seq = state.meta, state.segments, state.next_seq
        self._durable_seq = state.next_seq - 1
        self._meta.seq_reserved = max(self._meta.seq_reserved, state.next_seq + _RESERVE)
        last = self._segments[-1] if self._segments else None
        if last is not None and last.last + 1 == self._next_seq and last.size < self._segment_bytes:
            self._fd = os.open(last.path, os.O_WRONLY | os.O_APPEND)
        else:
            self._start_segment(declared_from=state.contiguous_end)
        write_meta(self.directory, self._meta)
        fsync_dir(self.directory)

    # ------------------------------------------------------------------ properties
    @property
    def epoch(self) -> int:
        """The spool's epoch."""
        return self._meta.epoch

    @property
    def next_seq(self) -> int:
        """Seq the next appended sample gets."""
        return self._next_seq

    @property
    def acked_seq(self) -> int:
        """Every seq at or below is settled."""
        return self._meta.acked_seq

    @property
    def durable_seq(self) -> int:
        """Every seq at or below is fsynced (readers never see past it)."""
        return self._durable_seq

    @property
    def needs_sync(self) -> bool:
        """Whether appended samples (or directory changes) wait for an fsync."""
        return not self._closed and (self._next_seq - 1 > self._durable_seq or self._dir_dirty)

    @property
    def has_unsent(self) -> bool:
        """Whether some durable sample waits to be sent (seqs may jump: not ``durable_seq > acked_seq``)."""
        with self._lock:
            low, high = self._meta.acked_seq + 1, self._durable_seq
            return any(max(s.first, low) <= min(s.last, high) for s in self._segments)

    @property
    def dropped_total(self) -> int:
        """Samples dropped by the size cap (cumulative)."""
        return self._meta.dropped_total

    # ------------------------------------------------------------------ writing
    def append(self, ts: float, metrics: Mapping[str, Any]) -> int:
        """Append one sample (not yet durable: see :meth:`sync`) and return its seq.

        Raises:
            msgspec.ValidationError: the metrics do not satisfy :class:`agent.wire.Sample`.
            OSError: the write failed (disk full...); the spool is left as it was.
        """
        with self._lock:
            if self._closed:
                raise SpoolClosed(str(self.directory))
            seq = self._next_seq
            sample = msgspec.convert({**metrics, "seq": seq, "ts": ts}, wire.Sample)
            record = encode_record(self._encoder.encode(sample))
            active = self._segments[-1]
            if active.count > 0 and active.size + len(record) > self._segment_bytes:
                self._rotate()
                active = self._segments[-1]
            meta_changed = self._enforce_cap(len(record))
            try:
                written = 0
                while written < len(record):
                    written += os.write(self._fd, record[written:])
            except OSError:
                os.ftruncate(self._fd, active.size)
                raise
            active.count += 1
            active.size += len(record)
            self._next_seq = seq + 1
            if self._next_seq + _RESERVE // 2 >= self._meta.seq_reserved:
                self._meta.seq_reserved = self._next_seq + _RESERVE
                meta_changed = True
        if meta_changed:
            self._persist_meta()
        return seq

    def _start_segment(self, declared_from: int | None = None) -> None:
        path = self.directory / segment_name(self._next_seq)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        declared = self._next_seq if declared_from is None else min(declared_from, self._next_seq)
        os.write(self._fd, SEGMENT_HEADER.pack(MAGIC, self._meta.epoch, declared))
        self._segments.append(SegmentInfo(self._next_seq, path, 0, SEGMENT_HEADER.size))
        self._dir_dirty = True

    def _rotate(self) -> None:
        # Called with the lock held. The closed segment is made durable now so that the group commit
        # only ever has one file (the active one) to fsync.
        os.fsync(self._fd)
        os.close(self._fd)
        self._durable_seq = max(self._durable_seq, self._next_seq - 1)
        self._start_segment()

    def _enforce_cap(self, incoming: int) -> bool:
        changed = False
        total = sum(seg.size for seg in self._segments)
        while total + incoming > self._max_bytes and len(self._segments) > 1:
            oldest = self._segments.pop(0)
            unsent = max(0, oldest.last - max(self._meta.acked_seq, oldest.first - 1))
            self._meta.dropped_total += unsent
            self._meta.acked_seq = max(self._meta.acked_seq, oldest.last)
            oldest.path.unlink(missing_ok=True)
            total -= oldest.size
            self._dir_dirty = changed = True
            log.warning(
                "spool_cap_dropped", segment=oldest.path.name, samples=unsent, cap_bytes=self._max_bytes
            )
        return changed

    def sync(self) -> None:
        """Fsync what was appended (group commit: the caller decides how often). Thread-safe."""
        with self._lock:
            if self._closed:
                return
            target, dir_dirty = self._next_seq - 1, self._dir_dirty
            if target <= self._durable_seq and not dir_dirty:
                return
            fd = os.dup(self._fd)
            self._dir_dirty = False
        try:
            os.fsync(fd)
            if dir_dirty:
                fsync_dir(self.directory)
        except OSError:
            self._dir_dirty = self._dir_dirty or dir_dirty
            raise
        finally:
            os.close(fd)
        with self._lock:
            self._durable_seq = max(self._durable_seq, target)

    # ------------------------------------------------------------------ reading and settling
    def read(self, max_samples: int) -> list[wire.Sample]:
        """The oldest unsettled durable samples, at most ``max_samples``, in seq order."""
        with self._lock:
            start, durable = self._meta.acked_seq + 1, self._durable_seq
            # Seqs are contiguous within a segment, not across them (a declared gap may sit between).
            plan = [
                (s.first, s.path, s.last) for s in self._segments if s.last >= start and s.first <= durable
            ]
            hint = self._read_hint
        out: list[wire.Sample] = []
        for first, path, last in plan:
            if len(out) >= max_samples:
                break
            seq = max(start, first)
            try:
                fh = path.open("rb")
            except FileNotFoundError:
                continue  # dropped by the cap meanwhile
            with fh:
                if hint is not None and hint[0] == first and hint[1] == seq:
                    fh.seek(hint[2])
                else:
                    fh.seek(SEGMENT_HEADER.size)
                    for _ in range(seq - first):
                        if read_record(fh) is None:
                            break
                while seq <= min(last, durable) and len(out) < max_samples:
                    offset = fh.tell()
                    sample = self._decode(read_record(fh), seq)
                    if sample is None:
                        self._cut(first, seq, offset)
                        return out
                    out.append(sample)
                    seq += 1
                self._read_hint = (first, seq, fh.tell())
        return out

    def _decode(self, payload: bytes | None, seq: int) -> wire.Sample | None:
        if payload is None:
            return None
        try:
            sample = self._decoder.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        return sample if sample.seq == seq else None

    def _cut(self, first: int, bad_seq: int, offset: int) -> None:
        """Corruption found while reading: cut the segment at ``bad_seq`` (file ``offset``)."""
        with self._lock:
            seg = next((s for s in self._segments if s.first == first), None)
            if seg is None:
                return
            if seg is self._segments[-1]:
                self._rotate()
            successor = self._segments[self._segments.index(seg) + 1]
            write_header(successor.path, self._meta.epoch, bad_seq)  # the loss is counted here, once
            lost = max(0, seg.last - max(bad_seq - 1, self._meta.acked_seq))
            seg.count = bad_seq - seg.first
            seg.size = offset
            os.truncate(seg.path, offset)
            self._meta.lost_total += lost
            self._meta.truncated_total += 1
            self._read_hint = None
        log.error("spool_corrupt_record", segment=seg.path.name, seq=bad_seq, lost=lost)
        self._persist_meta()

    def ack(self, through_seq: int) -> None:
        """Settle every sample up to ``through_seq``; delete segments left with nothing to send."""
        with self._lock:
            if through_seq <= self._meta.acked_seq or self._closed:
                return
            self._meta.acked_seq = min(through_seq, self._next_seq - 1)
            while len(self._segments) > 1 and self._segments[0].last <= self._meta.acked_seq:
                self._segments.pop(0).path.unlink(missing_ok=True)
                self._dir_dirty = True
        self._persist_meta()

    def dead_letter(self, samples: Sequence[wire.Sample], *, status: int, detail: str, body: bytes) -> None:
        """Move samples the server refused as invalid to the dead-letter file, then settle them."""
        if not samples:
            return
        with self._meta_lock:
            append_dead_letter(
                self.directory / DEAD_LETTER_NAME,
                samples=len(samples),
                status=status,
                detail=detail,
                body=body,
                max_bytes=self._dead_letter_max,
            )
        with self._lock:
            self._meta.dead_letter_total += len(samples)
        self.ack(max(s.seq for s in samples))

    # ------------------------------------------------------------------ state
    def _persist_meta(self) -> None:
        with self._meta_lock:
            with self._lock:
                snapshot = msgspec.structs.replace(self._meta)
            write_meta(self.directory, snapshot)

    def stats(self) -> SpoolStats:
        """Depth and counters, from memory (cheap)."""
        with self._lock:
            acked = self._meta.acked_seq
            unacked = bytes_ = 0
            for seg in self._segments:
                n = max(0, seg.last - max(acked, seg.first - 1))
                unacked += n
                if seg.count:
                    bytes_ += (seg.size - SEGMENT_HEADER.size) * n // seg.count
            return SpoolStats(
                epoch=self._meta.epoch,
                next_seq=self._next_seq,
                acked_seq=acked,
                unacked_samples=unacked,
                unacked_bytes=bytes_,
                segments=len(self._segments),
                disk_bytes=sum(seg.size for seg in self._segments),
                dropped_total=self._meta.dropped_total,
                lost_total=self._meta.lost_total,
                truncated_total=self._meta.truncated_total,
                dead_letter_total=self._meta.dead_letter_total,
            )

    def close(self) -> None:
        """Fsync, persist the meta file and close. Idempotent."""
        if self._closed:
            return
        self.sync()
        with self._lock:
            self._closed = True
            os.close(self._fd)
        self._persist_meta()
        os.close(self._lock_fd)  # releases the flock
