"""Seeded random samples of whole hosts, the same order wherever a sample is taken.

The ETL (``--sample-hosts N``, and ``evaluate``/``backtest``'s row budget, before any work) and the loader
of featured rows (``--max-rows``, when the rows do not fit in memory) both keep hosts in the order
:func:`host_rank` gives: a hash of the seed and the host id, stable across runs, machines and Python
versions, and both keep a prefix of that order (:func:`take_hosts`). So with the same seed, a smaller sample
is a subset of a larger one, and the ETL's sample and the loader's agree.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["host_rank", "parse_count", "ranked_hosts", "take_hosts"]


def host_rank(seed: int, host: str) -> bytes:
    """A host's place in the seeded random order (smaller comes first)."""
    return hashlib.blake2b(f"{seed}:{host}".encode(), digest_size=8).digest()


def ranked_hosts(hosts: Iterable[str], seed: int) -> list[str]:
    """``hosts`` in the seeded random order."""
    return sorted(hosts, key=lambda h: host_rank(seed, h))


def take_hosts(
    rows: Mapping[str, int], seed: int, *, max_hosts: int | None = None, max_rows: int | None = None
) -> list[str]:
    """The longest prefix of the seeded order within both limits (at least one host).

    A prefix, not a best fit: skipping a host that does not fit to take smaller ones would favour small
    hosts (short-lived or sparse ones), and the sample would no longer be a random one.

    Args:
        rows: Rows of each host.
        seed: Seed of the order.
        max_hosts: Hosts kept at most (``None``: no limit).
        max_rows: Rows kept at most (``None``: no limit); the first host is kept whatever its size.

    Returns:
        The kept hosts, in the seeded order.
    """
    kept: list[str] = []
    total = 0
    for host in ranked_hosts(rows, seed):
        if kept and max_hosts is not None and len(kept) >= max_hosts:
            break
        if kept and max_rows is not None and total + rows[host] > max_rows:
            break
        kept.append(host)
        total += rows[host]
    return kept


def parse_count(text: str, *, minimum: int = 1) -> int | None:
    """A count as people write it on a command line ("10000", "10,000", "10_000"); ``None`` unless it is a
    whole number of ``minimum`` or more (1 for the options ``--sample-hosts`` and ``--max-rows`` take)."""
    try:
        value = int(text.strip().replace("_", "").replace(",", ""))
    except ValueError:
        return None
    return value if value >= minimum else None
