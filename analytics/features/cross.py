"""Cross-resource ratios: relations between metrics that a single metric does not show."""

from __future__ import annotations

from analytics.features.rolling import RESOURCES
from analytics.features.spec import FeatureSpec, Kind

__all__ = ["CROSS"]

CROSS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "load_per_cpu_util",
        Kind.RATIO,
        "load1",
        other=("cpu_util",),
        offset=1.0,
        help="1-min load per percent of CPU busy: a per-core pressure proxy (high load, idle CPUs: I/O wait)",
    ),
    FeatureSpec(
        "load1_to_load15",
        Kind.RATIO,
        "load1",
        other=("load15",),
        offset=0.01,
        help="short vs long load average",
    ),
    FeatureSpec(
        "swap_per_mem_util",
        Kind.RATIO,
        "swap_util",
        other=("mem_util",),
        offset=1.0,
        help="swap use vs memory use",
    ),
    FeatureSpec(
        "net_in_out_log_ratio",
        Kind.LOG_RATIO,
        "network_in",
        other=("network_out",),
        help="ln(1 + bytes in/s) - ln(1 + bytes out/s)",
    ),
    FeatureSpec(
        "disk_bytes_per_op",
        Kind.RATIO,
        "disk_io",
        other=("disk_iops",),
        offset=1.0,
        help="mean disk I/O size",
    ),
    FeatureSpec(
        "max_util", Kind.MAX_OF, RESOURCES[0], other=RESOURCES[1:], help="the fullest resource, percent"
    ),
)
