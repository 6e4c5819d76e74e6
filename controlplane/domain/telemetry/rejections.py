"""Count every refused batch by reason (``cloudsense_controlplane_ingest_rejected_total{reason}``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from controlplane.metrics import INGEST_REJECTED

if TYPE_CHECKING:
    from controlplane.errors import CloudSenseError

__all__ = ["REASONS", "reject"]

E = TypeVar("E", bound="CloudSenseError")

REASONS = (
    "body_too_large",
    "decompressed_too_large",
    "bad_gzip",
    "unsupported_encoding",
    "unsupported_media_type",
    "empty_body",
    "malformed_json",
    "invalid_schema",
    "too_many_samples",
    "duplicate_seq",
    "future_timestamp",
    "stale_timestamp",
    "forbidden_host",
    "overloaded",
)
"""Every label value of the counter (all pre-created, so rates exist before the first refusal)."""

for _reason in REASONS:
    INGEST_REJECTED.labels(_reason)


def reject(reason: str, error: E) -> E:
    """Count a refusal and hand the error back to be raised (``raise reject("...", Err(...))``)."""
    INGEST_REJECTED.labels(reason).inc()
    error.extra.setdefault("reason", reason)
    return error
