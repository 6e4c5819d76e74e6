"""CloudSense control plane: REST API, storage, scheduler (``cloudsense serve``).

Import-light on purpose: the building blocks live in submodules, e.g. ``controlplane.app.create_app``,
``controlplane.settings.Settings``, ``controlplane.provision`` (tokens and schema for demos and tests).
"""

from __future__ import annotations

__all__: list[str] = []
