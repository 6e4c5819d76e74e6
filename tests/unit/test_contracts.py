"""Contracts that hold the packages together: public names, entry points, light imports."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

PACKAGES = ("agent", "controlplane", "analytics", "tui", "cloudsense")


def _modules_with_all() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
            if ".__main__" in info.name or info.name.endswith(".__main__"):
                continue
            names.append(info.name)
    return names


@pytest.mark.parametrize("module_name", _modules_with_all())
def test_every_name_in_all_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        return
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names what it does not define: {missing}"
    assert len(set(exported)) == len(exported), f"{module_name}.__all__ has duplicates"


def test_every_collector_entry_point_loads_and_satisfies_the_protocol() -> None:
    from agent.collectors.base import Collector
    from agent.settings import AgentSettings
    from agent.testing import FakeSystemSource, load_snapshots

    eps = entry_points(group="cloudsense.collectors")
    assert {ep.name for ep in eps} >= {"cpu", "memory", "disk", "diskio", "network", "processes", "load"}
    fixture = Path(__file__).parents[1] / "fixtures" / "proc" / "this_machine" / "snapshots.json"
    source = FakeSystemSource(load_snapshots(fixture))
    for ep in eps:
        cls = ep.load()
        assert cls.name == ep.name
        collector = cls(AgentSettings())
        assert isinstance(collector, Collector)
        # runtime_checkable only checks names exist: call each once.
        assert isinstance(collector.collect(source), dict)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("agent", ("pyspark", "mlflow", "litestar", "sqlalchemy", "numpy", "pydantic", "structlog")),
        ("agent.wire", ("psutil", "httpx", "pyspark", "mlflow", "numpy")),
        ("controlplane", ("pyspark", "mlflow", "optuna", "litestar", "sqlalchemy")),
        ("controlplane.app", ("pyspark", "mlflow", "optuna", "sklearn")),
        ("analytics", ("pyspark", "mlflow", "optuna")),
        ("analytics.features", ("pyspark", "mlflow", "optuna", "pandas")),
        ("analytics.serving", ("pyspark", "mlflow", "optuna", "pandas", "sklearn")),
        ("tui", ("controlplane", "analytics", "agent")),
    ],
)
def test_imports_stay_light(package: str, forbidden: tuple[str, ...]) -> None:
    """Importing a package (in a fresh interpreter) pulls in none of the heavy stacks it must not need."""
    code = (
        "import sys, importlib; importlib.import_module(sys.argv[1]); "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, package], capture_output=True, text=True, check=True
    ).stdout.split()
    loaded = set(out) & set(forbidden)
    assert not loaded, f"importing {package} loads {sorted(loaded)}"
