"""The durable spool: continuity across restarts, corruption of every kind, the size cap."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from agent.spool import Spool, SpoolLocked, inspect_spool
from agent.spool._format import RECORD_HEADER, SEGMENT_HEADER

SEG = 16 * 1024


def fill(spool: Spool, n: int, start_ts: float = 1.7e9) -> list[int]:
    seqs = [spool.append(start_ts + i, {"cpu_util": float(i % 100), "mem_util": 50.0}) for i in range(n)]
    spool.sync()
    return seqs


def crash(spool: Spool) -> None:
    """Abandon the spool like a killed process would (no close, no final meta write)."""
    os.close(spool._fd)
    os.close(spool._lock_fd)  # the kernel drops a dead process's flock
    spool._closed = True


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.seg"))


def read_all(spool: Spool) -> list[int]:
    return [s.seq for s in spool.read(10**6)]


def test_epoch_and_seq_survive_a_restart(tmp_path):
    spool = Spool.open(tmp_path)
    fill(spool, 10)
    spool.ack(3)
    epoch = spool.epoch
    spool.close()
    again = Spool.open(tmp_path)
    assert again.epoch == epoch
    assert again.next_seq == 10
    assert again.acked_seq == 3
    assert again.append(1.8e9, {"cpu_util": 1.0}) == 10
    again.sync()
    assert read_all(again) == list(range(4, 11))


def test_seq_continues_after_a_crash(tmp_path):
    spool = Spool.open(tmp_path)
    fill(spool, 5)
    epoch = spool.epoch
    crash(spool)
    again = Spool.open(tmp_path)
    assert (again.epoch, again.next_seq) == (epoch, 5)
    assert read_all(again) == [0, 1, 2, 3, 4]


def test_a_new_or_wiped_spool_gets_a_new_epoch(tmp_path):
    a = Spool.open(tmp_path / "a")
    b = Spool.open(tmp_path / "b")
    assert a.epoch != b.epoch
    assert 0 <= a.epoch < 2**63
    fill(a, 3)
    a.close()
    for f in (tmp_path / "a").iterdir():
        f.unlink()
    c = Spool.open(tmp_path / "a")
    assert c.epoch != a.epoch and c.next_seq == 0


def test_only_fsynced_samples_are_readable(tmp_path):
    spool = Spool.open(tmp_path)
    spool.append(1.7e9, {"cpu_util": 1.0})
    assert spool.needs_sync
    assert spool.read(10) == []
    spool.sync()
    assert [s.seq for s in spool.read(10)] == [0]


def test_invalid_sample_is_refused_without_consuming_a_seq(tmp_path):
    spool = Spool.open(tmp_path)
    with pytest.raises(msgspec.ValidationError):
        spool.append(1.7e9, {"cpu_util": 150.0})
    assert spool.append(1.7e9, {"cpu_util": 15.0}) == 0


def test_ack_deletes_settled_segments_and_persists(tmp_path):
    spool = Spool.open(tmp_path, segment_bytes=SEG)
    fill(spool, 1000)
    n_before = len(segments(tmp_path))
    spool.ack(899)
    assert len(segments(tmp_path)) < n_before
    spool.close()
    again = Spool.open(tmp_path, segment_bytes=SEG)
    assert read_all(again) == list(range(900, 1000))


def _last_record_offset(path: Path) -> int:
    data = path.read_bytes()
    offset, last = SEGMENT_HEADER.size, SEGMENT_HEADER.size
    while offset < len(data):
        last = offset
        (length, _crc) = RECORD_HEADER.unpack_from(data, offset)
        offset += RECORD_HEADER.size + length
    return last


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["bit_flip", "truncated", "zeroed_length"])
def test_corrupt_tail_is_cut_and_counted(tmp_path, damage):
    spool = Spool.open(tmp_path)
    fill(spool, 20)
    next_before = spool.next_seq
    crash(spool)
    (seg,) = segments(tmp_path)
    last = _last_record_offset(seg)
    if damage == "bit_flip":
        _flip(seg, last + RECORD_HEADER.size + 3)
    elif damage == "truncated":
        os.truncate(seg, seg.stat().st_size - 5)
    else:
        data = bytearray(seg.read_bytes())
        data[last : last + 4] = b"\0\0\0\0"
        seg.write_bytes(bytes(data))
    again = Spool.open(tmp_path)
    assert read_all(again) == list(range(19))
    assert again.stats().truncated_total == 1
    # numbering never reuses a seq the server might hold
    assert again.next_seq >= next_before
    assert again.has_unsent  # the 19 good records
    again.ack(18)
    assert not again.has_unsent  # although durable_seq > acked_seq across the jump (no busy loop)
    new = again.append(1.8e9, {"cpu_util": 1.0})
    assert new >= next_before
    again.sync()
    assert read_all(again) == [new]
    again.close()
    final = Spool.open(tmp_path).stats()
    assert final.truncated_total == 1  # repaired for good, counted once
    assert final.lost_total == 0  # the seq jump is declared, not mistaken for a missing segment


def test_missing_middle_segment_is_skipped_and_counted(tmp_path):
    spool = Spool.open(tmp_path, segment_bytes=SEG)
    fill(spool, 1200)
    spool.close()
    segs = segments(tmp_path)
    assert len(segs) >= 3
    first_of = [int(p.name[:20]) for p in segs]
    missing = first_of[2] - first_of[1]
    segs[1].unlink()
    again = Spool.open(tmp_path, segment_bytes=SEG)
    seqs = read_all(again)
    assert seqs == [s for s in range(1200) if not first_of[1] <= s < first_of[2]]
    assert again.stats().lost_total == missing
    assert again.append(1.8e9, {"cpu_util": 1.0}) >= 1200
    again.close()
    assert Spool.open(tmp_path, segment_bytes=SEG).stats().lost_total == missing  # counted once


def test_bit_flip_in_a_middle_segment_cuts_it_and_counts_the_rest(tmp_path):
    spool = Spool.open(tmp_path, segment_bytes=SEG)
    fill(spool, 1200)
    spool.close()
    segs = segments(tmp_path)
    a, b = int(segs[1].name[:20]), int(segs[2].name[:20])
    _flip(segs[1], SEGMENT_HEADER.size + 10 * 70 + 20)  # somewhere around the 10th record
    again = Spool.open(tmp_path, segment_bytes=SEG)
    seqs = read_all(again)
    kept = [s for s in seqs if a <= s < b]
    assert kept == list(range(a, a + len(kept)))
    assert again.stats().lost_total == (b - a) - len(kept)
    assert [s for s in seqs if s >= b] == list(range(b, 1200))


def test_torn_segment_header_and_garbage_meta(tmp_path):
    spool = Spool.open(tmp_path)
    fill(spool, 5)
    epoch = spool.epoch
    crash(spool)
    (tmp_path / f"{5:020d}.seg").write_bytes(b"CSS")  # a rotation torn by a crash
    (tmp_path / "meta.json").write_bytes(b"\x00garbage")
    again = Spool.open(tmp_path)
    assert again.epoch == epoch  # recovered from the segment headers
    assert read_all(again) == [0, 1, 2, 3, 4]  # cursor unknown: resend (the server dedupes)


def test_corruption_found_while_reading_is_cut_and_reading_goes_on(tmp_path):
    spool = Spool.open(tmp_path, segment_bytes=SEG)
    fill(spool, 600)
    segs = segments(tmp_path)
    b = int(segs[1].name[:20])
    _flip(segs[0], SEGMENT_HEADER.size + 5 * 70 + 30)
    first = spool.read(10**6)
    assert first and first[-1].seq < b  # stopped at the bad record
    lost = spool.stats().lost_total
    assert lost == b - len(first)
    crash(spool)
    spool = Spool.open(tmp_path, segment_bytes=SEG)
    assert spool.stats().lost_total == lost  # the cut is declared: a restart does not recount it
    spool.ack(first[-1].seq)
    rest = read_all(spool)
    assert rest == list(range(b, 600))
    assert spool.stats().lost_total == b - len(first)
    spool.ack(rest[-1])
    assert spool.stats().unacked_samples == 0


def test_cap_drops_oldest_segments_counts_them_and_bounds_the_disk(tmp_path):
    cap = 64 * 1024
    spool = Spool.open(tmp_path, max_bytes=cap, segment_bytes=SEG)
    for i in range(5000):
        spool.append(1.7e9 + i, {"cpu_util": 1.0, "mem_util": 2.0})
        disk = sum(p.stat().st_size for p in segments(tmp_path))
        assert disk <= cap + SEG
    spool.sync()
    stats = spool.stats()
    assert stats.dropped_total > 0
    assert stats.dropped_total + stats.unacked_samples == 5000
    seqs = read_all(spool)
    assert seqs == list(range(5000 - len(seqs), 5000))  # the newest survive
    spool.close()
    again = Spool.open(tmp_path, max_bytes=cap, segment_bytes=SEG)
    assert again.dropped_total == stats.dropped_total  # cumulative, persisted
    assert again.stats().lost_total == 0  # a drop is not a loss to corruption


def test_cap_counts_only_unacked_samples(tmp_path):
    cap = 64 * 1024
    spool = Spool.open(tmp_path, max_bytes=cap, segment_bytes=SEG)
    fill(spool, 500)
    spool.ack(499)
    fill(spool, 1200)
    stats = spool.stats()
    assert stats.dropped_total + stats.unacked_samples == 1200


def test_inspect_is_read_only_and_exact(tmp_path):
    spool = Spool.open(tmp_path, segment_bytes=SEG)
    fill(spool, 700)
    spool.ack(99)
    report = inspect_spool(tmp_path)
    assert report is not None
    assert report.unacked_samples == 600
    assert report.epoch == spool.epoch
    assert 0 < report.unacked_bytes < report.disk_bytes
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    inspect_spool(tmp_path)
    assert before == {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert inspect_spool(tmp_path / "nothing") is None


def test_dead_letter_settles_and_counts(tmp_path):
    spool = Spool.open(tmp_path)
    fill(spool, 3)
    samples = spool.read(3)
    spool.dead_letter(samples, status=422, detail="nope", body=b'{"x": 1}')
    assert spool.acked_seq == 2
    assert spool.stats().dead_letter_total == 3
    assert b'"batch": {"x": 1}' in (tmp_path / "dead-letter.jsonl").read_bytes()


def test_a_second_process_cannot_open_the_same_spool(tmp_path):
    spool = Spool.open(tmp_path)
    with pytest.raises(SpoolLocked, match="in use"):
        Spool.open(tmp_path)
    spool.close()
    Spool.open(tmp_path).close()  # released on close
