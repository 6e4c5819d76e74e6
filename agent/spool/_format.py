"""On-disk format of the spool: segment files of checksummed records.

A segment is named after the sequence number of its first record (``00000000000000001234.seg``)
and holds::

    header  : magic "CSSPOOL1" (8 bytes) | epoch (u64 LE) | declared_from (u64 LE)
    record* : length (u32 LE) | crc32(length bytes + payload) (u32 LE) | payload (msgpack wire.Sample)

Sequence numbers inside a segment are contiguous, so record ``i`` of segment ``first`` is
``first + i``. A record is valid when its length is in ``1..MAX_PAYLOAD``, it is complete, and its
checksum matches: a bit flip, a zeroed length or a truncated write all stop the scan there.

``declared_from`` says that the seqs in ``[declared_from, first)`` are known not to exist (numbering
jumped after a corrupt tail, or a loss was already counted): only a gap *before* ``declared_from`` is
an unexplained loss. A normal segment declares ``first``.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO, NamedTuple

__all__ = [
    "MAGIC",
    "MAX_PAYLOAD",
    "RECORD_HEADER",
    "SEGMENT_HEADER",
    "SegmentScan",
    "encode_record",
    "parse_segment_name",
    "read_record",
    "scan_segment",
    "segment_name",
    "write_header",
]

MAGIC = b"CSSPOOL1"
SEGMENT_HEADER = struct.Struct("<8sQQ")
RECORD_HEADER = struct.Struct("<II")
MAX_PAYLOAD = 1 << 20
SUFFIX = ".seg"
_LENGTH = struct.Struct("<I")


def segment_name(first_seq: int) -> str:
    """File name of the segment whose first record is ``first_seq``."""
    return f"{first_seq:020d}{SUFFIX}"


def parse_segment_name(name: str) -> int | None:
    """First sequence number encoded in a segment file name, or ``None`` for other files."""
    stem, suffix = name[: -len(SUFFIX)], name[-len(SUFFIX) :]
    if suffix != SUFFIX or len(stem) != 20 or not stem.isdigit():
        return None
    return int(stem)


def _crc(length: bytes | memoryview, payload: bytes | memoryview) -> int:
    return zlib.crc32(payload, zlib.crc32(length))


def encode_record(payload: bytes) -> bytes:
    """Frame one payload as a record."""
    if not 0 < len(payload) <= MAX_PAYLOAD:
        raise ValueError(f"record payload must be 1..{MAX_PAYLOAD} bytes, got {len(payload)}")
    length = _LENGTH.pack(len(payload))
    return RECORD_HEADER.pack(len(payload), _crc(length, payload)) + payload


def read_record(fh: BinaryIO) -> bytes | None:
    """Read the record at the file position; ``None`` at the end or at the first invalid byte."""
    head = fh.read(RECORD_HEADER.size)
    if len(head) < RECORD_HEADER.size:
        return None
    length, crc = RECORD_HEADER.unpack(head)
    if not 0 < length <= MAX_PAYLOAD:
        return None
    payload = fh.read(length)
    if len(payload) < length or _crc(head[:4], payload) != crc:
        return None
    return payload


class SegmentScan(NamedTuple):
    """What a full scan of a segment file found."""

    epoch: int | None
    """Epoch in the header; ``None`` if the header is missing or not ours."""
    declared_from: int
    """Start of the gap this segment declares before itself (see the module docstring)."""
    records: int
    """Valid records from the start."""
    valid_bytes: int
    """Offset just past the last valid record."""
    file_bytes: int
    """Size of the file."""


def scan_segment(path: Path) -> SegmentScan:
    """Walk a segment and stop at the first invalid record."""
    data = path.read_bytes()
    if len(data) < SEGMENT_HEADER.size:
        return SegmentScan(None, 0, 0, 0, len(data))
    magic, epoch, declared_from = SEGMENT_HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        return SegmentScan(None, 0, 0, 0, len(data))
    view = memoryview(data)
    offset, count = SEGMENT_HEADER.size, 0
    while offset + RECORD_HEADER.size <= len(data):
        length, crc = RECORD_HEADER.unpack_from(data, offset)
        end = offset + RECORD_HEADER.size + length
        if not 0 < length <= MAX_PAYLOAD or end > len(data):
            break
        if _crc(view[offset : offset + 4], view[offset + RECORD_HEADER.size : end]) != crc:
            break
        offset, count = end, count + 1
    return SegmentScan(int(epoch), int(declared_from), count, offset, len(data))


def write_header(path: Path, epoch: int, declared_from: int) -> None:
    """Rewrite the header of an existing segment in place (to declare a gap), durably."""
    with path.open("r+b") as fh:
        fh.write(SEGMENT_HEADER.pack(MAGIC, epoch, declared_from))
        fh.flush()
        os.fsync(fh.fileno())
