"""Durable on-disk spool between the collectors and the shipper (one directory per host identity).

Layout of a spool directory::

    meta.json                 epoch, ack cursor, counters (replaced atomically: tmp + fsync + rename)
    00000000000000000000.seg  segment files named by their first seq (see ``_format``)
    dead-letter.jsonl         batches the server refused as invalid (400/422), one JSON line each
"""

from __future__ import annotations

from agent.spool._commit import GroupCommitter
from agent.spool._deadletter import DEAD_LETTER_NAME
from agent.spool._inspect import inspect_spool
from agent.spool._meta import SpoolMeta, SpoolStats
from agent.spool._spool import Spool, SpoolClosed, SpoolLocked

__all__ = [
    "DEAD_LETTER_NAME",
    "GroupCommitter",
    "Spool",
    "SpoolClosed",
    "SpoolLocked",
    "SpoolMeta",
    "SpoolStats",
    "inspect_spool",
]
