"""A real Prometheus server scrapes a live control plane with the shipped scrape config and rules.

``packaging/prometheus/prometheus.yml`` is taken as shipped; only what a deployment changes is changed: the
target (this test's port), the bearer token file (its commented ``authorization`` block, filled in), the
scrape interval (1 s instead of 15 s) and the rules file's path. Skipped where the ``prometheus`` binary is
absent (Debian's ``prometheus`` package; ``.ci/run`` installs it).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cp_helpers import threaded_server
from pydantic import SecretStr
from test_cli_serve import free_port

from controlplane.settings import Settings

PACKAGING = Path(__file__).resolve().parents[2] / "packaging" / "prometheus"
PROMETHEUS = shutil.which("prometheus")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(PROMETHEUS is None, reason="prometheus not installed (apt-get install prometheus)"),
]


def _config(target: str, token_file: Path) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((PACKAGING / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(PACKAGING / name) for name in config["rule_files"]]
    (job,) = config["scrape_configs"]
    job["static_configs"][0]["targets"] = [target]
    job["authorization"] = {"type": "Bearer", "credentials_file": str(token_file)}
    return config


def _wait_for(what: str, probe: Any, process: subprocess.Popen[bytes], log: Path, seconds: float = 90) -> Any:
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise AssertionError(
                f"prometheus exited with {process.returncode} while waiting for {what}:\n{tail}"
            )
        try:
            last = probe()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


def test_prometheus_scrapes_the_control_plane_and_loads_the_rules(
    tmp_path: Path, pg_settings: Settings
) -> None:
    token = "scrape-s3cret"
    token_file = tmp_path / "metrics-token"
    token_file.write_text(token + "\n")
    server = pg_settings.server.model_copy(update={"metrics_token": SecretStr(token)})
    settings = pg_settings.model_copy(update={"server": server})
    with threaded_server(settings) as base:
        config_file = tmp_path / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(_config(base.removeprefix("http://"), token_file)))
        port = free_port()
        assert PROMETHEUS is not None
        log = tmp_path / "prometheus.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [
                    PROMETHEUS,
                    f"--config.file={config_file}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=5)
        try:

            def scraped() -> dict[str, Any] | None:
                targets = api.get("/targets").json()["data"]["activeTargets"]
                done = [t for t in targets if t["lastScrape"] != "0001-01-01T00:00:00Z"]
                return done[0] if done else None

            target = _wait_for("a first scrape", scraped, process, log)
            assert target["labels"]["job"] == "cloudsense-controlplane"
            assert target["labels"]["component"] == "controlplane"
            assert target["health"] == "up", target["lastError"]
            assert target["lastError"] == ""

            def at_head() -> list[Any]:
                query = {"query": "cloudsense_controlplane_migrations_at_head"}
                result: list[Any] = api.get("/query", params=query).json()["data"]["result"]
                return result

            (sample,) = _wait_for("the schema gauge", at_head, process, log)
            assert sample["value"][1] == "1"
            assert sample["metric"]["instance"] == base.removeprefix("http://")

            groups = api.get("/rules").json()["data"]["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            shipped = yaml.safe_load((PACKAGING / "cloudsense-alerts.yml").read_text())
            names = {r["alert"] for g in shipped["groups"] for r in g["rules"] if "alert" in r}
            assert names and names <= {rule["name"] for rule in rules}
            assert all(rule["health"] in ("ok", "unknown") for rule in rules), rules
            down = [r for r in rules if r["name"] == "CloudSenseControlPlaneDown"]
            assert down and down[0]["state"] == "inactive", "the control plane is up: its down alert is quiet"
        finally:
            api.close()
            process.terminate()
            process.wait(timeout=30)
