"""The split never leaks the future, nor (for a fleet) a host."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.training.split import Split, SplitError, check_split, host_family, make_split

H = 1800


def _grid(n_hosts: int, n_steps: int, step: int = 60, start: int = 1_700_000_000):
    host = np.repeat([f"sim-{['web', 'db', 'batch'][i % 3]}-{i:04d}" for i in range(n_hosts)], n_steps)
    ts = np.tile(start + step * np.arange(n_steps, dtype=np.int64), n_hosts)
    return host, ts


def test_fleet_split_is_host_disjoint_and_forward_in_time_with_a_purge_gap():
    host, ts = _grid(30, 3000)
    split = make_split(
        host, ts, scheme="fleet", train_fraction=0.6, validation_fraction=0.2, horizon_seconds=H
    )
    groups = [set(host[m]) for m in (split.train, split.validation, split.test)]
    assert all(groups) and not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    assert ts[split.train].max() + H <= ts[split.validation].min()
    assert ts[split.validation].max() + H <= ts[split.test].min()
    # every family is spread over the groups (stratified)
    for family in ("sim-web", "sim-db", "sim-batch"):
        assert all(any(host_family(h) == family for h in g) for g in groups)


def test_fleet_split_is_deterministic_by_seed():
    host, ts = _grid(30, 500)
    kwargs = {"scheme": "fleet", "train_fraction": 0.6, "validation_fraction": 0.2, "horizon_seconds": H}
    a, b = make_split(host, ts, seed=1, **kwargs), make_split(host, ts, seed=1, **kwargs)
    c = make_split(host, ts, seed=2, **kwargs)
    assert np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test)
    assert not np.array_equal(a.test, c.test)


def test_host_time_split_is_forward_in_time_within_each_host():
    host, ts = _grid(2, 3000)
    ts[host == host[-1]] += 10_000  # hosts with different timelines
    split = make_split(
        host, ts, scheme="host-time", train_fraction=0.6, validation_fraction=0.2, horizon_seconds=H
    )
    for name in np.unique(host):
        mine = host == name
        assert ts[split.train & mine].max() + H <= ts[split.validation & mine].min()
        assert ts[split.validation & mine].max() + H <= ts[split.test & mine].min()
        assert (split.test & mine).any()


def test_day_split_keeps_whole_days_apart():
    host, ts = _grid(3, 5 * 1440)  # five days
    split = make_split(host, ts, scheme="day", train_fraction=0.6, validation_fraction=0.2, horizon_seconds=H)
    days = [set((ts[m] // 86400).tolist()) for m in (split.train, split.validation, split.test)]
    assert not (days[0] & days[1] or days[1] & days[2] or days[0] & days[2])
    assert max(days[0]) < min(days[1]) <= max(days[1]) < min(days[2])


def test_a_random_row_split_is_refused():
    host, ts = _grid(10, 200)
    rng = np.random.default_rng(0)
    part = rng.integers(0, 3, host.size)
    random_split = Split("fleet", part == 0, part == 1, part == 2)
    with pytest.raises(SplitError):
        check_split(host, ts, random_split, horizon_seconds=H)


def test_overlapping_hosts_are_refused_in_a_fleet_split():
    host, ts = _grid(3, 300)
    first = ts < ts.min() + 100 * 60
    later = ts > ts.min() + 200 * 60
    leaky = Split("fleet", first & (host != host[-1]), np.zeros_like(first), later)
    with pytest.raises(SplitError, match="host"):
        check_split(host, ts, leaky, horizon_seconds=H)


def test_too_few_hosts_or_days():
    host, ts = _grid(2, 300)
    with pytest.raises(SplitError, match="3 hosts"):
        make_split(host, ts, scheme="fleet", train_fraction=0.6, validation_fraction=0.2, horizon_seconds=H)
    with pytest.raises(SplitError, match="3 distinct days"):
        make_split(host, ts, scheme="day", train_fraction=0.6, validation_fraction=0.2, horizon_seconds=H)


def test_host_family():
    assert host_family("sim-web-0007") == "sim-web"
    assert host_family("db_12") == "db"
    assert host_family("1234") == "1234"


def test_day_split_folds_a_few_minutes_past_midnight_into_the_day_before():
    # four day-long traces (hosts are host-days, as in Nezha) that each end a few minutes after midnight
    parts = []
    for d in (0, 1, 5, 6):
        ts = np.arange(d * 86400 + 3600, (d + 1) * 86400 + 300, 60, dtype=np.int64)
        parts.append((np.full(ts.size, f"pod-day{d}"), ts))
    host = np.concatenate([p[0] for p in parts])
    ts = np.concatenate([p[1] for p in parts]) + 1_700_006_400 // 86400 * 86400
    split = make_split(host, ts, scheme="day", train_fraction=0.6, validation_fraction=0.2, horizon_seconds=H)
    periods = [set(host[m]) for m in (split.train, split.validation, split.test)]
    assert periods == [{"pod-day0", "pod-day1"}, {"pod-day5"}, {"pod-day6"}]
    assert split.test.sum() == (host == "pod-day6").sum()  # the whole last trace, not its last minutes
