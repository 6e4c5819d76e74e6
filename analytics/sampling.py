"""Seeded random samples of whole hosts, the same order wherever a sample is taken.

The ETL (``--sample-hosts N``, before any work) and the loader of featured rows (``--max-rows``, when the
rows do not fit in memory) both keep hosts in the order :func:`host_rank` gives: a hash of the seed and the
host id, stable across runs, machines and Python versions. So with the same seed, a smaller sample is a
subset of a larger one, and the ETL's sample and the loader's agree.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["host_rank", "ranked_hosts"]


def host_rank(seed: int, host: str) -> bytes:
    """A host's place in the seeded random order (smaller comes first)."""
    return hashlib.blake2b(f"{seed}:{host}".encode(), digest_size=8).digest()


def ranked_hosts(hosts: Iterable[str], seed: int) -> list[str]:
    """``hosts`` in the seeded random order."""
    return sorted(hosts, key=lambda h: host_rank(seed, h))
