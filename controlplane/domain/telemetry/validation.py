"""Decode and validate a batch strictly: the wire contract (``agent.wire``) plus what a schema cannot say.

msgspec enforces types, unknown fields, ranges and sizes, and refuses non-finite numbers (``NaN`` and
``Infinity`` are not JSON; ``1e999`` is "out of range"). This module adds: the batch-size limit as 413 (the
agent splits on 413), unique ``seq`` within the batch, and timestamps neither from the far future nor
older than what is kept.
"""

from __future__ import annotations

import msgspec

from agent import wire
from controlplane.domain.telemetry.rejections import reject
from controlplane.errors import BadRequest, PayloadTooLarge, Unprocessable

__all__ = ["decode_and_validate", "has_nul"]


def has_nul(facts: wire.HostFacts | None, *more: str) -> bool:
    """Whether a NUL character hides in the facts' strings or in ``more`` (Postgres text refuses NUL)."""
    texts = list(more)
    if facts is not None:
        texts += [v for v in (getattr(facts, f) for f in facts.__struct_fields__) if isinstance(v, str)]
    return any("\x00" in t for t in texts)


def decode_and_validate(
    body: bytes, *, now: float, max_future_skew_seconds: float, max_sample_age_seconds: float
) -> wire.Batch:
    """Parse a JSON batch and check it against the contract.

    Args:
        body: The decompressed request body.
        now: Server time, Unix seconds.
        max_future_skew_seconds: Samples after ``now`` + this are refused.
        max_sample_age_seconds: Samples before ``now`` - this are refused.

    Returns:
        The batch.

    Raises:
        BadRequest: Empty body or malformed JSON.
        PayloadTooLarge: More than ``wire.MAX_SAMPLES_PER_BATCH`` samples.
        Unprocessable: Any other violation; ``detail`` names the offending field.
    """
    if not body.strip():
        raise reject("empty_body", BadRequest("request body is empty; expected a JSON batch"))
    try:
        batch = wire.decode_batch(body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if message.endswith("at `$.samples`") and "length <=" in message:
            raise reject(
                "too_many_samples",
                PayloadTooLarge(f"a batch holds at most {wire.MAX_SAMPLES_PER_BATCH} samples; split it"),
            ) from exc
        raise reject("invalid_schema", Unprocessable(f"invalid batch: {message}")) from exc
    except msgspec.DecodeError as exc:
        raise reject("malformed_json", BadRequest(f"malformed JSON: {exc}")) from exc

    samples = batch.samples
    mount_names = [name for s in samples if s.mounts for name in s.mounts]
    if has_nul(batch.facts, batch.agent_version, *mount_names):
        raise reject("invalid_schema", Unprocessable("strings may not contain NUL characters"))
    seen: set[int] = set()
    for sample in samples:
        if sample.seq in seen:
            raise reject(
                "duplicate_seq", Unprocessable(f"seq {sample.seq} appears more than once in the batch")
            )
        seen.add(sample.seq)
    if samples:
        newest = max(s.ts for s in samples)
        oldest = min(s.ts for s in samples)
        if newest > now + max_future_skew_seconds:
            raise reject(
                "future_timestamp",
                Unprocessable(
                    f"sample ts {newest:.3f} is more than {max_future_skew_seconds:g} s ahead of the server "
                    f"clock ({now:.3f}); check the host's clock"
                ),
            )
        if oldest < now - max_sample_age_seconds:
            raise reject(
                "stale_timestamp",
                Unprocessable(
                    f"sample ts {oldest:.3f} is older than {max_sample_age_seconds:g} s (outside retention)"
                ),
            )
    return batch
