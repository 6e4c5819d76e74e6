"""Train / validation / test splits that never leak the future (and, for a fleet, never a host).

Three schemes, all forward in time. ``h`` is the label horizon: a row's label looks at (t, t + h], so
each period ends ``h`` before the next one starts (a purge gap) and no label crosses a cut.

``fleet`` (``cloudsense train``: many hosts)
    Hosts are shuffled with the seed, stratified by host family (the host id without its trailing
    number, e.g. ``sim-web``), and dealt into three disjoint groups in the proportions
    ``train_fraction : validation_fraction : rest``. Two global cut points split the fleet's timeline
    in the same proportions, ``t1 = t0 + f_train * span`` and ``t2 = t1 + f_val * span``:

    * train = train-group hosts, ``t <= t1 - h``
    * validation = validation-group hosts, ``t1 < t <= t2 - h``
    * test = test-group hosts, ``t > t2``

    So every training label is older than every validation row, every validation label older than
    every test row, and the test hosts were never seen. Rows outside these cells are unused.

``host-time`` (``cloudsense backtest``: few hosts, each with a long history)
    Each host's own timeline is cut at the same fractions: the earlier part trains, the middle
    validates, the later part tests (with the same purge gaps). Hosts are shared; time never is.

``day`` (data whose hosts are day-long, e.g. Nezha's pod-days)
    Whole UTC days: the earliest days train, the next validate, the latest test (at least one day each).
    No day, hence no pod-day, is in two periods: a host whose history spans under 36 hours belongs
    wholly to the day holding most of its rows, and a day with under 5 % of a median day's rows belongs
    to the day before it.

:func:`check_split` asserts these invariants; every split is checked before it is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from analytics.settings import TrainingSettings
    from analytics.training.data import FeatureData

__all__ = ["Scheme", "Split", "SplitError", "check_split", "host_family", "make_split", "split_features"]

Scheme = Literal["fleet", "host-time", "day"]
_FAMILY = re.compile(r"[-_.:]?\d+$")


class SplitError(ValueError):
    """A split is impossible (too few hosts or days) or breaks an invariant."""


def host_family(host_id: str) -> str:
    """The host id without its trailing number: ``sim-web-0007`` -> ``sim-web``."""
    return _FAMILY.sub("", host_id) or host_id


@dataclass(frozen=True)
class Split:
    """Row masks of the three periods over a frame sorted by host then time."""

    scheme: Scheme
    """Which scheme made it."""
    train: NDArray[np.bool_]
    """Rows used to fit models."""
    validation: NDArray[np.bool_]
    """Rows used for early stopping, tuning, calibration and thresholds."""
    test: NDArray[np.bool_]
    """Rows used only to report metrics."""
    info: dict[str, Any] = field(default_factory=dict)
    """Cut points, host groups and counts, for the model card."""


def _deal_hosts(hosts: NDArray[Any], fractions: tuple[float, float], seed: int) -> NDArray[np.int8]:
    """Group 0/1/2 per host, stratified by family, shuffled with ``seed``."""
    rng = np.random.default_rng(seed)
    group = np.zeros(hosts.size, dtype=np.int8)
    families = np.array([host_family(str(h)) for h in hosts])
    order = rng.permutation(hosts.size)
    f_train, f_val = fractions
    # Within a family, hosts get evenly spaced ranks in [0, 1) (random offset), cut at the fractions.
    ranks = np.empty(hosts.size)
    for fam in np.unique(families):
        members = order[families[order] == fam]
        ranks[members] = (np.arange(members.size) + rng.random()) / members.size
    group[ranks >= f_train] = 1
    group[ranks >= f_train + f_val] = 2
    # Small fleets: make sure each group has a host.
    for g in (1, 2, 0):
        if not np.any(group == g):
            donor = int(np.argmax(np.bincount(group, minlength=3)))
            candidates = np.flatnonzero(group == donor)
            group[candidates[rng.integers(candidates.size)]] = g
    return group


def make_split(
    host_id: NDArray[Any],
    timestamp: NDArray[Any],
    *,
    scheme: Scheme,
    train_fraction: float,
    validation_fraction: float,
    horizon_seconds: int,
    seed: int = 0,
) -> Split:
    """Build and check a split (see the module docstring for the schemes).

    Args:
        host_id: Host of each row.
        timestamp: Epoch seconds of each row.
        scheme: ``fleet``, ``host-time`` or ``day``.
        train_fraction: Share of time (and of hosts, for ``fleet``) for training.
        validation_fraction: Share after it for validation; the rest is test.
        horizon_seconds: Label horizon (the purge gap between periods).
        seed: Shuffles the host groups of ``fleet``.

    Returns:
        The checked split.

    Raises:
        SplitError: Too few hosts or days for the scheme, or a period comes out empty.
    """
    host = np.asarray(host_id).astype(str)
    ts = np.asarray(timestamp, dtype=np.int64)
    if min(train_fraction, validation_fraction) <= 0 or train_fraction + validation_fraction >= 1:
        raise SplitError("need 0 < train_fraction and train_fraction + validation_fraction < 1")
    h = int(horizon_seconds)
    if scheme == "fleet":
        hosts, inverse = np.unique(host, return_inverse=True)
        if hosts.size < 3:
            raise SplitError(f"a fleet split needs at least 3 hosts, got {hosts.size}; use host-time")
        group = _deal_hosts(hosts, (train_fraction, validation_fraction), seed)[inverse]
        t0, t_end = int(ts.min()), int(ts.max())
        t1 = t0 + train_fraction * (t_end - t0)
        t2 = t1 + validation_fraction * (t_end - t0)
        train = (group == 0) & (ts <= t1 - h)
        validation = (group == 1) & (ts > t1) & (ts <= t2 - h)
        test = (group == 2) & (ts > t2)
        info: dict[str, Any] = {
            "cut_train_end": t1,
            "cut_validation_end": t2,
            "hosts": {name: int(np.unique(host[group == g]).size) for g, name in enumerate(_PERIODS)},
        }
    elif scheme == "host-time":
        order_host, inverse = np.unique(host, return_inverse=True)
        first = np.full(order_host.size, np.iinfo(np.int64).max)
        last = np.full(order_host.size, np.iinfo(np.int64).min)
        np.minimum.at(first, inverse, ts)
        np.maximum.at(last, inverse, ts)
        span = (last - first)[inverse].astype(np.float64)
        t1 = first[inverse] + train_fraction * span
        t2 = t1 + validation_fraction * span
        train, validation, test = ts <= t1 - h, (ts > t1) & (ts <= t2 - h), ts > t2
        info = {"hosts": int(order_host.size)}
    elif scheme == "day":
        day = _merged_days(host, ts)
        days = np.unique(day)
        if days.size < 3:
            raise SplitError(f"a day split needs at least 3 distinct days, got {days.size}")
        n_train = min(max(1, round(train_fraction * days.size)), days.size - 2)
        n_val = min(max(1, round(validation_fraction * days.size)), days.size - n_train - 1)
        d1, d2 = days[n_train - 1], days[n_train + n_val - 1]
        val_start, test_start = ts[day > d1].min(), ts[day > d2].min()
        train = (day <= d1) & (ts <= val_start - h)
        validation = (day > d1) & (day <= d2) & (ts <= test_start - h)
        test = day > d2
        chosen = (days[:n_train], days[n_train : n_train + n_val], days[n_train + n_val :])
        info = {"days": {n: [int(d) * 86_400 for d in c] for n, c in zip(_PERIODS, chosen, strict=True)}}
    else:
        raise SplitError(f"unknown split scheme {scheme!r}")
    split = Split(scheme, train, validation, test, info)
    for name, mask in zip(_PERIODS, (train, validation, test), strict=True):
        info[f"rows_{name}"] = int(mask.sum())
        if not mask.any():
            raise SplitError(f"the {name} period of the {scheme} split is empty (data too short?)")
    check_split(host, ts, split, horizon_seconds=h)
    return split


_PERIODS = ("train", "validation", "test")
SMALL_DAY = 0.05
"""A UTC day with fewer rows than this share of the median day joins the day before it (a trace that runs
a few minutes past midnight is not a day of its own)."""


def _merged_days(host: NDArray[Any], ts: NDArray[np.int64]) -> NDArray[np.int64]:
    """The day of each row: UTC day number; a host whose history spans under 36 h (a host-day) belongs
    wholly to its majority day; small days merge into the previous (for the first, the next) day."""
    day = ts // 86_400
    names, inverse = np.unique(host, return_inverse=True)
    first = np.full(names.size, np.iinfo(np.int64).max)
    last = np.full(names.size, np.iinfo(np.int64).min)
    np.minimum.at(first, inverse, ts)
    np.maximum.at(last, inverse, ts)
    short = (last - first) < 36 * 3600
    if short.any():
        # majority day per host: the most frequent (host, day) pair
        pairs, counts = np.unique(np.column_stack([inverse, day]), axis=0, return_counts=True)
        order = np.lexsort((-counts, pairs[:, 0]))
        best = pairs[order][np.r_[True, np.diff(pairs[order][:, 0]) != 0]]
        majority = np.zeros(names.size, dtype=np.int64)
        majority[best[:, 0]] = best[:, 1]
        day = np.where(short[inverse], majority[inverse], day)
    days, counts = np.unique(day, return_counts=True)
    small = counts < SMALL_DAY * np.median(counts)
    if not small.any() or small.all():
        return day
    keep = days[~small]
    # Each small day maps to the latest kept day before it, or the first kept day when there is none.
    index = np.searchsorted(keep, days, side="right") - 1
    target = np.where(index >= 0, keep[np.maximum(index, 0)], keep[0])
    return target[np.searchsorted(days, day)]


def check_split(
    host_id: NDArray[Any], timestamp: NDArray[Any], split: Split, *, horizon_seconds: int
) -> None:
    """Assert a split's invariants.

    * the three masks are disjoint;
    * forward in time with the purge gap: globally for ``fleet`` and ``day``, per host for ``host-time``
      (every train row + horizon <= every validation row, every validation row + horizon <= every test row);
    * ``fleet``: the three host groups are disjoint.

    Raises:
        SplitError: An invariant is broken.
    """
    host = np.asarray(host_id).astype(str)
    ts = np.asarray(timestamp, dtype=np.int64)
    masks = (split.train, split.validation, split.test)
    if np.any(masks[0] & masks[1]) or np.any(masks[0] & masks[2]) or np.any(masks[1] & masks[2]):
        raise SplitError("split periods overlap")
    h = int(horizon_seconds)
    pairs = ((masks[0], masks[1]), (masks[1], masks[2]))
    if split.scheme == "host-time":
        names, inverse = np.unique(host, return_inverse=True)
        for earlier, later in pairs:
            latest = np.full(names.size, np.iinfo(np.int64).min // 2)
            earliest = np.full(names.size, np.iinfo(np.int64).max // 2)
            np.maximum.at(latest, inverse[earlier], ts[earlier])
            np.minimum.at(earliest, inverse[later], ts[later])
            bad = np.flatnonzero(latest + h > earliest)
            if bad.size:
                msg = f"host {names[bad[0]]}: an earlier period's label window reaches a later one"
                raise SplitError(msg)
    else:
        for earlier, later in pairs:
            if earlier.any() and later.any() and ts[earlier].max() + h > ts[later].min():
                raise SplitError("an earlier period's label window reaches into a later period")
    if split.scheme == "fleet":
        groups = [set(np.unique(host[m]).tolist()) for m in masks]
        if groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2]:
            raise SplitError("a host appears in two periods of a fleet split")


def split_features(data: FeatureData, training: TrainingSettings, *, scheme: Scheme, seed: int) -> Split:
    """:func:`make_split` of a featured dataset with the settings' fractions and the data's own horizon."""
    return make_split(
        data.column("host_id"),
        data.column("timestamp"),
        scheme=scheme,
        train_fraction=training.train_fraction,
        validation_fraction=training.validation_fraction,
        horizon_seconds=data.horizon_seconds,
        seed=seed,
    )
