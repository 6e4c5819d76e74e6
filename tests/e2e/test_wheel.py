"""wheel-smoke: the built wheel installs and works outside the repository.

* with only the ``agent`` extra, in a venv without pip: the agent runs, and nothing heavy comes along;
* with everything, every package imports from the installed wheel and every entry point loads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]
PIP = [sys.executable, "-m", "pip"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [*PIP, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), str(REPO)],
        check=True,
        cwd=out,
    )
    (built,) = out.glob("cloudsense-*.whl")
    return built


def _site_packages(venv: Path) -> Path:
    return next(venv.glob("lib/python3*/site-packages"))


def test_agent_extra_alone_is_small_and_runs(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "agent-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [*PIP, "--python", str(venv / "bin" / "python"), "install", "--quiet", f"{wheel}[agent]"],
        check=True,
        cwd=tmp_path,
    )
    site = _site_packages(venv)
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert {"psutil", "httpx", "msgspec", "cloudsense"} <= installed
    assert not installed & {"pyspark", "mlflow", "litestar", "sqlalchemy", "numpy", "lightgbm", "textual"}
    size_mb = sum(f.stat().st_size for f in site.rglob("*") if f.is_file()) / 1e6
    assert size_mb < 30, f"the agent's install is {size_mb:.1f} MB"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    help_text = subprocess.run(
        [str(venv / "bin" / "cloudsense-agent"), "--help"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    ).stdout
    assert "simulate" in help_text
    status = subprocess.run(
        [str(venv / "bin" / "cloudsense-agent"), "status", "--json", "--state-dir", str(tmp_path / "state")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    # An empty state dir: nothing enrolled (exit 1), but the report is there.
    assert json.loads(status.stdout)["hosts"] == [], status.stderr


def test_all_packages_import_from_the_wheel_and_entry_points_load(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "full-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [*PIP, "--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
    )
    # Dependencies come from the dev venv's site-packages, added as a plain path (so its editable
    # install of this repository is not activated).
    dev_site = sysconfig.get_paths()["purelib"]
    (_site_packages(venv) / "zz_dev_deps.pth").write_text(dev_site + "\n")
    code = """
import importlib, sys
from importlib.metadata import distribution
site = sys.argv[1]
for name in ("cloudsense", "agent", "controlplane", "analytics", "tui", "migrations"):
    mod = importlib.import_module(name)
    assert mod.__file__.startswith(site), (name, mod.__file__)
dist = distribution("cloudsense")
eps = [ep for ep in dist.entry_points]
assert eps, "no entry points"
for ep in eps:
    ep.load()
print(len(eps))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code, str(_site_packages(venv))],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) >= 9  # 2 console scripts + 7 collectors
