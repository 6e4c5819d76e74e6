"""The ``cloudsense`` command: a thin dispatcher to each component's own CLI.

Each component owns its subcommands; this package only maps a subcommand to the module that implements it,
imported by name at call time so that ``cloudsense serve`` never loads Spark and ``cloudsense tui`` never
loads the control plane. Installing only the extras a host needs is enough for the commands it uses.
"""

from __future__ import annotations

__all__: list[str] = []
