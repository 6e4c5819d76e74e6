"""Property-based test: the spool behaves like a list of unacknowledged samples, whatever happens."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from agent.spool import Spool
from agent.spool._format import RECORD_HEADER

CAP = 1 << 30  # no drops here: the cap has its own tests
SEG = 16 * 1024


class SpoolMachine(RuleBasedStateMachine):
    """Model: ``pending`` = [(seq, ts)] appended and not acked, ``durable`` = how many of them are fsynced."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="spool-model-"))
        self.spool = Spool.open(self.dir, max_bytes=CAP, segment_bytes=SEG)
        self.epoch = self.spool.epoch
        self.pending: list[tuple[int, float]] = []
        self.durable = 0
        self.read_upto = -1  # last seq returned by a read (acks only ever cover what was read)
        self.highest = -1
        self.ts = 1.7e9

    def teardown(self) -> None:
        self.spool.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(n=st.integers(1, 300))
    def append(self, n: int) -> None:
        for _ in range(n):
            self.ts += 1
            seq = self.spool.append(self.ts, {"cpu_util": self.ts % 100, "load1": 1.0})
            assert seq > self.highest
            self.highest = seq
            self.pending.append((seq, self.ts))

    @rule()
    def sync(self) -> None:
        self.spool.sync()
        self.durable = len(self.pending)

    @rule(n=st.integers(1, 500))
    def read(self, n: int) -> None:
        got = [(s.seq, s.ts) for s in self.spool.read(n)]
        # at least what the model knows is fsynced; possibly more (a segment rotation fsyncs too)
        assert got == self.pending[: len(got)]
        assert min(n, self.durable) <= len(got) <= n
        assert not got or got[-1][0] <= self.spool.durable_seq
        if got:
            self.read_upto = max(self.read_upto, got[-1][0])

    @precondition(lambda self: self.read_upto >= 0 and self.pending and self.pending[0][0] <= self.read_upto)
    @rule(data=st.data())
    def ack(self, data: st.DataObject) -> None:
        readable = [seq for seq, _ in self.pending if seq <= self.read_upto]
        through = data.draw(st.sampled_from(readable))
        self.spool.ack(through)
        dropped = sum(1 for seq, _ in self.pending if seq <= through)
        self.pending = self.pending[dropped:]
        self.durable = max(0, self.durable - dropped)

    @rule(clean=st.booleans())
    def reopen(self, clean: bool) -> None:
        if clean:
            self.spool.close()
        else:  # killed: the page cache still holds every write
            os.close(self.spool._fd)
            os.close(self.spool._lock_fd)
            self.spool._closed = True
        self.spool = Spool.open(self.dir, max_bytes=CAP, segment_bytes=SEG)
        self.durable = len(self.pending)
        self.read_upto = -1

    @precondition(lambda self: self.pending and self.durable == len(self.pending))
    @rule()
    def tear_last_record(self) -> None:
        """A crash mid-write of the newest record: it is lost, nothing else is, no seq is reused."""
        active = self.spool._segments[-1]
        if active.count == 0 or active.last != self.pending[-1][0]:
            return
        os.close(self.spool._fd)
        os.close(self.spool._lock_fd)
        self.spool._closed = True
        os.truncate(active.path, active.size - RECORD_HEADER.size)
        self.spool = Spool.open(self.dir, max_bytes=CAP, segment_bytes=SEG)
        self.pending.pop()
        self.durable = len(self.pending)
        self.read_upto = -1

    @invariant()
    def matches_model(self) -> None:
        assert self.spool.epoch == self.epoch
        assert self.spool.next_seq > self.highest
        assert self.spool.stats().unacked_samples == len(self.pending)


SpoolMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
TestSpoolModel = SpoolMachine.TestCase
