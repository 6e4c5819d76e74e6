"""Write server.env.example from the control plane's settings: every setting, its description, its default.

    .venv/bin/python packaging/systemd/make_server_env.py > packaging/systemd/server.env.example

Descriptions are the attribute docstrings of ``controlplane/settings.py``; the unit tests fail while the file
differs from what this prints.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import sys
import textwrap
from typing import Any

from pydantic import SecretStr

import controlplane.settings as cs

HEADER = """\
# Environment of the CloudSense control plane (`cloudsense serve`; systemd: cloudsense-server.service reads
# it as EnvironmentFile=/etc/cloudsense/server.env, mode 0640, root:root). Every setting is listed with its
# default; uncomment and change what you need. A variable set here wins over the default; values are taken
# as written (no quotes needed). Generated from controlplane/settings.py by make_server_env.py (a test holds
# them equal).
#
# For a fleet, point it at Postgres (the default is SQLite in the working directory, the demo's store):
#   CLOUDSENSE_DB__URL=postgresql://cloudsense@127.0.0.1:5432/cloudsense
# and, to serve agents on other machines, bind every interface behind TLS (a reverse proxy):
#   CLOUDSENSE_SERVER__HOST=0.0.0.0
"""


def _docstrings(cls: type) -> dict[str, str]:
    """Attribute docstrings of a class: the string literal right after each annotated attribute."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body  # type: ignore[attr-defined]
    out = {}
    for a, b in itertools.pairwise(body):
        if isinstance(a, ast.AnnAssign) and isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant):
            out[a.target.id] = " ".join(str(b.value.value).split())  # type: ignore[union-attr]
    return out


def _value(default: Any) -> str:
    if default is None or isinstance(default, SecretStr):
        return ""
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


def render() -> str:
    """The whole file."""
    lines = [HEADER.rstrip("\n")]
    sections = _docstrings(cs.Settings)
    for section, field in cs.Settings.model_fields.items():
        model = field.annotation
        assert isinstance(model, type)
        lines += ["", f"# --- {section}: {sections.get(section, '')}"]
        docs = _docstrings(model)
        for name, spec in model.model_fields.items():  # type: ignore[attr-defined]
            lines += [f"# {chunk}" for chunk in textwrap.wrap(docs.get(name, ""), 106)]
            lines.append(f"# CLOUDSENSE_{section.upper()}__{name.upper()}={_value(spec.default)}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
