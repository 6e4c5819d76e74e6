"""Where the real data sets (NAB, Nezha) are: ``CLOUDSENSE_DATASETS_DIR``, else ``../shared/datasets``
beside the checkout. They are never copied into the repository; tests that need them skip when absent."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATASETS"]

DATASETS = Path(
    os.environ.get("CLOUDSENSE_DATASETS_DIR")
    or Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
)
