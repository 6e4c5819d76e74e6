"""packaging/prometheus: rules and config are valid (promtool, when installed) and name real metrics."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

import controlplane.domain.telemetry.rejections  # registers the labelled series
import controlplane.metrics  # noqa: F401

PROMETHEUS = Path(__file__).resolve().parents[3] / "packaging" / "prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (apt-get install prometheus)"
)


@needs_promtool
@pytest.mark.parametrize(
    "args",
    [
        ("check", "rules", "cloudsense-alerts.yml"),
        ("check", "config", "prometheus.yml"),
        ("test", "rules", "cloudsense-alerts.test.yml"),
    ],
    ids=["check rules", "check config", "test rules"],
)
def test_promtool(args: tuple[str, ...]) -> None:
    assert PROMTOOL is not None
    result = subprocess.run([PROMTOOL, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_name_only_metrics_the_control_plane_exports() -> None:
    lines = (PROMETHEUS / "cloudsense-alerts.yml").read_text().splitlines()
    rules = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\b(cloudsense_controlplane_[a-z_]+)", rules))
    assert used
    exported = {metric.name for metric in REGISTRY.collect()}
    # Counters are collected under their base name; the HTTP middleware's metrics appear after a request.
    http = {
        "cloudsense_controlplane_http_requests_total",
        "cloudsense_controlplane_http_request_duration_seconds_bucket",
    }
    missing = {
        name for name in used - http if name not in exported and name.removesuffix("_total") not in exported
    }
    assert not missing, missing
