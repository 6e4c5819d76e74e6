"""The one simulation model of a host fleet, in pure Python (no numpy: the agent extra stays tiny).

``cloudsense-agent simulate`` drives it in real time through the real spool and shipper;
``cloudsense generate`` drives it over days of simulated time to write a history lake.

Contract (both drivers rely on it):

* ``make_fleet(n_hosts, seed, start_ts) -> list[SimulatedHost]``: deterministic for a seed.
* ``SimulatedHost.host_id`` (e.g. ``sim-web-0007``), ``.role``, ``.facts`` (``agent.wire.HostFacts``).
* ``SimulatedHost.sample_at(ts) -> dict[str, float]``: advance the host's state to ``ts`` (calls come
  with non-decreasing ``ts``, any step) and return the metrics of ``agent.wire.METRIC_NAMES`` plus
  ``mounts`` is not included (simulated hosts have one mount, ``/``).
"""
