"""The dead-letter file: batches the control plane refused as invalid, kept for a human to look at."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from agent.log import get_logger

__all__ = ["DEAD_LETTER_NAME", "append_dead_letter"]

DEAD_LETTER_NAME = "dead-letter.jsonl"
log = get_logger(__name__)


def append_dead_letter(
    path: Path, *, samples: int, status: int, detail: str, body: bytes, max_bytes: int
) -> None:
    """Append one JSON line ``{"at", "status", "detail", "samples", "batch"}`` and fsync it.

    Past ``max_bytes`` the file is rotated to ``*.1.jsonl`` (the previous rotation is replaced), so
    dead letters never fill the disk. A failure to write is logged, not raised: the batch was refused
    either way and must not block the spool.
    """
    head = json.dumps({"at": time.time(), "status": status, "detail": detail[:2000], "samples": samples})
    line = head[:-1].encode() + b', "batch": ' + body + b"}\n"
    try:
        if max_bytes and path.exists() and path.stat().st_size + len(line) > max_bytes:
            path.replace(path.with_suffix(".1.jsonl"))
        with path.open("ab") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        log.error("dead_letter_write_failed", path=str(path), error=str(exc))
