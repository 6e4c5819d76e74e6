"""The control plane's environment file lists every setting with its real default (the unit itself:
tests/unit/test_systemd_units.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from controlplane.settings import Settings

PACKAGING = Path(__file__).resolve().parents[3] / "packaging" / "systemd"
ENV_EXAMPLE = PACKAGING / "server.env.example"


def _settings_names(settings: Settings) -> set[str]:
    return {
        f"CLOUDSENSE_{section.upper()}__{name.upper()}"
        for section in type(settings).model_fields
        for name in type(getattr(settings, section)).model_fields
    }


def test_env_example_lists_every_setting_with_its_default(monkeypatch):
    """Each setting once, commented, with the default that the code has: set from the file as written, the
    settings equal the defaults. So the file can neither miss a new setting nor show a stale default."""
    listed = dict(
        re.findall(r"^# (CLOUDSENSE_[A-Z0-9_]+)=(.*)$", ENV_EXAMPLE.read_text(), flags=re.MULTILINE)
    )
    for example in ("CLOUDSENSE_DB__URL", "CLOUDSENSE_SERVER__HOST"):  # the header's suggestions
        assert re.search(rf"^#   {example}=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE)
    for name in list(os.environ):  # the defaults, not this machine's settings
        if name.startswith("CLOUDSENSE_"):
            monkeypatch.delenv(name)
    defaults = Settings()
    assert set(listed) == _settings_names(defaults)
    assert len(re.findall(r"^# CLOUDSENSE_", ENV_EXAMPLE.read_text(), flags=re.MULTILINE)) == len(listed)
    for name, value in listed.items():
        if value:  # an empty value stands for "unset" (None)
            monkeypatch.setenv(name, value)
    assert Settings().model_dump() == defaults.model_dump()


def test_env_example_is_what_its_generator_writes():
    """server.env.example is regenerated whenever a setting or its description changes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_server_env", PACKAGING / "make_server_env.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render() == ENV_EXAMPLE.read_text(), (
        "stale: .venv/bin/python packaging/systemd/make_server_env.py > packaging/systemd/server.env.example"
    )
