"""``python -m controlplane <command>`` (the same as ``cloudsense <command>``)."""

from __future__ import annotations

import sys

from controlplane.cli import main

if __name__ == "__main__":
    sys.exit(main())
