"""The simulation model (``agent.simulation``): deterministic, within the wire's bounds, with real variety.

The analytics generator and ``cloudsense-agent simulate`` both stand on these properties.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest

from agent.simulation import PRECURSOR_KINDS, ROLES, make_fleet, make_host
from agent.wire import METRIC_NAMES, UTILISATION_METRICS

T0 = 1_772_409_600  # Monday 2026-03-02 00:00 UTC
DAY = 86_400


def series(host, days: float, step: int = 60) -> list[dict[str, float]]:
    return [host.sample_at(T0 + k * step) for k in range(int(days * DAY / step))]


def test_same_seed_same_samples_and_host_i_does_not_depend_on_fleet_size():
    small, large = make_fleet(3, 7, T0), make_fleet(40, 7, T0)
    assert [h.host_id for h in small] == [h.host_id for h in large[:3]]
    assert series(small[2], 0.5) == series(large[2], 0.5) == series(make_host(2, 7, T0), 0.5)
    assert series(make_host(2, 8, T0), 0.5) != series(make_host(2, 7, T0), 0.5)


def test_every_metric_is_finite_and_within_the_wire_bounds():
    for host in make_fleet(24, 3, T0):
        for sample in series(host, 2.0):
            assert set(sample) >= set(METRIC_NAMES)
            for name in METRIC_NAMES:
                value = sample[name]
                assert math.isfinite(value) and value >= 0.0, (host.host_id, name, value)
            for name in UTILISATION_METRICS:
                assert sample[name] <= 100.0, (host.host_id, name, sample[name])


def daily_means(week: list[dict[str, float]], metric: str, per_day: int) -> list[float]:
    return [sum(s[metric] for s in week[d * per_day : (d + 1) * per_day]) / per_day for d in range(7)]


def test_weekdays_are_busier_than_weekends():
    web = [h for h in make_fleet(30, 0, T0) if h.role == "web"][:4]
    assert web, "the fleet has web hosts"
    for host in web:
        # Local business hours vary with the host's time zone: compare whole weekdays with whole weekend days.
        days = daily_means(series(host, 7.0, step=300), "network_in", DAY // 300)
        assert sum(days[:5]) / 5 > 1.1 * sum(days[5:]) / 2, (host.host_id, days)


def test_a_fleet_has_every_role_and_every_precursor_some_of_which_stop_short():
    fleet = make_fleet(120, 0, T0)
    assert {h.role for h in fleet} == set(ROLES)
    episodes = [e for h in fleet for e in h.planned(T0 + 14 * DAY) if e.kind in PRECURSOR_KINDS]
    kinds = Counter(e.kind for e in episodes)
    assert set(kinds) == set(PRECURSOR_KINDS), kinds
    exhausting = [e for e in episodes if e.onset is not None]
    stopped = [e for e in episodes if e.onset is None]
    assert exhausting and stopped
    assert 0.03 < len(stopped) / len(episodes) < 0.4
    assert {e.resource for e in exhausting} == {"cpu_util", "mem_util", "disk_util"}
    # Varied speed: warning times (precursor start to onset) spread from minutes to hours.
    leads = sorted((e.onset - e.start) / 60 for e in exhausting)
    assert leads[0] < 15 and leads[-1] > 120, (leads[0], leads[-1])


@pytest.mark.parametrize("kind", ["leak", "disk_fill"])
def test_ground_truth_matches_the_data(kind):
    """An exhausting precursor takes its resource to >= 95 % around its planned onset, as sampled."""
    for host in make_fleet(60, 1, T0):
        records = [e for e in host.planned(T0 + 4 * DAY) if e.kind == kind and e.onset and e.onset > T0]
        if records:
            break
    else:
        pytest.fail(f"no {kind} episode in 60 hosts x 4 days")
    episode = records[0]
    samples = {T0 + k * 60: s for k, s in enumerate(series(host, (episode.onset - T0) / DAY + 0.05))}
    after = [s[episode.resource] for ts, s in samples.items() if episode.onset <= ts <= episode.onset + 600]
    before = [s[episode.resource] for ts, s in samples.items() if ts <= episode.start - 600]
    assert max(after) >= 95.0
    assert before and min(before[-30:]) < 95.0
