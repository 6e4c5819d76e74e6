"""Batch validation beyond the schema: batch size, duplicate seq, timestamps, NUL characters."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.wire import MAX_SAMPLES_PER_BATCH, HostFacts
from controlplane.domain.telemetry.validation import decode_and_validate, has_nul
from controlplane.errors import BadRequest, PayloadTooLarge, Unprocessable

NOW = 1_800_000_000.0


def encode(samples: list[dict[str, Any]], **extra: Any) -> bytes:
    return json.dumps(
        {"host_id": "h-1", "agent_version": "1", "epoch": 3, "samples": samples, **extra}
    ).encode()


def validate(body: bytes) -> Any:
    return decode_and_validate(body, now=NOW, max_future_skew_seconds=300, max_sample_age_seconds=86400)


def test_valid_batch_passes() -> None:
    batch = validate(encode([{"seq": i, "ts": NOW - i, "cpu_util": 1.5} for i in range(3)]))
    assert [s.seq for s in batch.samples] == [0, 1, 2]


def test_empty_sample_list_is_valid() -> None:
    assert validate(encode([])).samples == []


@pytest.mark.parametrize(
    ("ts", "ok"),
    [(NOW + 300, True), (NOW + 300.5, False), (NOW - 86400, True), (NOW - 86400.5, False)],
)
def test_timestamp_window(ts: float, ok: bool) -> None:
    body = encode([{"seq": 0, "ts": ts}])
    if ok:
        validate(body)
    else:
        with pytest.raises(Unprocessable):
            validate(body)


def test_duplicate_seq_names_the_seq() -> None:
    with pytest.raises(Unprocessable, match="seq 5"):
        validate(encode([{"seq": 5, "ts": NOW}, {"seq": 6, "ts": NOW}, {"seq": 5, "ts": NOW}]))


def test_more_than_the_maximum_is_413_so_the_agent_splits() -> None:
    samples = [{"seq": i, "ts": NOW} for i in range(MAX_SAMPLES_PER_BATCH + 1)]
    with pytest.raises(PayloadTooLarge):
        validate(encode(samples))
    validate(encode(samples[:-1]))


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b"{", b"nul", b'{"host_id":"h","agent_version":"1","epoch":1,"samples":[]}x'],
    ids=["empty", "blank", "open", "nul", "trailing"],
)
def test_unparseable_is_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequest):
        validate(body)


@pytest.mark.parametrize(
    "extra",
    [
        {"facts": {"hostname": "a\u0000b"}},
        {"agent_version": "1\u0000"},
    ],
)
def test_nul_characters_are_refused(extra: dict[str, Any]) -> None:
    with pytest.raises(Unprocessable, match="NUL"):
        validate(encode([{"seq": 0, "ts": NOW}], **extra))


def test_nul_in_a_mount_name_is_refused() -> None:
    with pytest.raises(Unprocessable, match="NUL"):
        validate(encode([{"seq": 0, "ts": NOW, "mounts": {"/mnt/\u0000": 1.0}}]))


def test_has_nul() -> None:
    assert not has_nul(HostFacts(hostname="ok"), "fine")
    assert has_nul(None, "bad\x00")
    assert has_nul(HostFacts(os="Li\x00nux"))
