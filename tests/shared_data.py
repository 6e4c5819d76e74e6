"""Where the real data sets (NAB, Nezha) are: ``CLOUDSENSE_DATASETS_DIR``, else ``../shared/datasets``
beside the checkout. They are never copied into the repository; tests that need them skip when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["DATASETS", "dataset"]

DATASETS = Path(
    os.environ.get("CLOUDSENSE_DATASETS_DIR")
    or Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
)


def dataset(name: str) -> Path:
    """The path of a real data set, or skip the test (saying where it was looked for) when it is absent."""
    path = DATASETS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: set CLOUDSENSE_DATASETS_DIR, or put the sets in ../shared/datasets")
    return path
