"""``python -m analytics JOB ...``: the same as ``cloudsense JOB ...``."""

from __future__ import annotations

import sys

from analytics.cli import main

if __name__ == "__main__":
    sys.exit(main())
