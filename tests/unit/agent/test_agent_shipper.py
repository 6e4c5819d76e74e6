"""The shipper against a real HTTP server on loopback: every status code of the retry matrix."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import random
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import msgspec
import pytest
from agent_helpers import TOKEN, store_credential, wait_until

from agent import wire
from agent.enroll import Credential, CredentialManager
from agent.shipper import Backoff, Shipper, TokenBucket, parse_retry_after
from agent.spool import DEAD_LETTER_NAME, Spool
from agent.testserver import Reply, Request, default_handler

HOST = "web-1"


class Sleeps:
    """Records every requested delay and returns at once (tests never wait on the wall clock)."""

    def __init__(self, block_at_least: float | None = None) -> None:
        self.delays: list[float] = []
        self.block_at_least = block_at_least

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self.block_at_least is not None and delay >= self.block_at_least:
            await asyncio.Event().wait()  # "long pause": until the shipper is stopped
        await asyncio.sleep(0)


class Rig:
    def __init__(self, tmp_path, url, settings, n, sleep, facts=None) -> None:
        self.dir = tmp_path / HOST
        self.spool = Spool.open(self.dir / "spool")
        for i in range(n):
            self.spool.append(1.7e9 + i, {"cpu_util": float(i), "load1": 0.5})
        self.spool.sync()
        self.store = store_credential(self.dir, HOST)
        self.client = httpx.AsyncClient(timeout=settings.request_timeout_seconds)
        self.facts = facts or wire.HostFacts(hostname="web-1", cpu_cores=4)
        self.durable = asyncio.Event()
        self.durable.set()
        self.credentials = CredentialManager(
            self.store,
            client=self.client,
            server=url,
            host_id=HOST,
            enroll_token=None,
            facts=lambda: self.facts,
        )
        self.shipper = Shipper(
            spool=self.spool,
            client=self.client,
            server_url=url,
            host_id=HOST,
            credentials=self.credentials,
            durable=self.durable,
            settings=settings,
            facts=lambda: self.facts,
            sleep=sleep,
            backoff=Backoff(
                settings.backoff_base_seconds, settings.backoff_cap_seconds, rng=random.Random(7)
            ),
        )

    async def drive(self, until) -> None:
        task = asyncio.create_task(self.shipper.run())
        try:
            await wait_until(lambda: until() or task.done())
        finally:
            self.shipper.request_stop()
            await asyncio.wait_for(task, 5)
            await self.client.aclose()
            self.spool.close()


@pytest.fixture
def rig(tmp_path, server, agent_settings):
    def make(n: int = 5, sleep=None, **overrides) -> Rig:
        settings = msgspec.structs.replace(agent_settings, **overrides)
        return Rig(tmp_path, server.url, settings, n, sleep or Sleeps())

    return make


async def test_200_acks_the_batch_with_gzip_body_bearer_and_facts(server, rig):
    r = rig(n=5)
    await r.drive(lambda: r.spool.acked_seq == 4)
    (req,) = server.telemetry()
    assert req.method == "POST"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["content-encoding"] == "gzip"
    assert req.body[:2] == b"\x1f\x8b"  # really gzip, not just labelled so
    batch = wire.decode_batch(gzip.decompress(req.body))
    assert batch.host_id == HOST
    assert batch.epoch == r.spool.epoch
    assert [s.seq for s in batch.samples] == [0, 1, 2, 3, 4]
    assert batch.facts == r.facts
    assert r.shipper.stats.samples_acked == 5


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_retryable_statuses_are_retried_then_acked(server, rig, status):
    sleeps = Sleeps()
    server.script.extend([Reply(status), Reply(status)])
    r = rig(n=3, sleep=sleeps)
    await r.drive(lambda: r.spool.acked_seq == 2)
    assert len(server.telemetry()) == 3
    assert len(sleeps.delays) == 2
    # full jitter: attempt k waits within [0, min(cap, base * 2**k)]
    assert 0 <= sleeps.delays[0] <= 0.001 and 0 <= sleeps.delays[1] <= 0.002
    assert r.shipper.stats.retries == 2
    # the retry resends the same seqs (idempotent on the server)
    assert {tuple(s["seq"] for s in q.payload["samples"]) for q in server.telemetry()} == {(0, 1, 2)}


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_seconds_is_honoured(server, rig, status):
    sleeps = Sleeps()
    server.script.append(Reply(status, headers={"Retry-After": "7"}))
    r = rig(n=1, sleep=sleeps)
    await r.drive(lambda: r.spool.acked_seq == 0)
    assert len(sleeps.delays) == 1
    assert sleeps.delays[0] >= 7


async def test_retry_after_http_date_is_honoured(server, rig):
    sleeps = Sleeps()
    when = datetime.now(tz=UTC) + timedelta(seconds=120)
    server.script.append(Reply(503, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    r = rig(n=1, sleep=sleeps)
    await r.drive(lambda: r.spool.acked_seq == 0)
    assert sleeps.delays[0] >= 100


async def test_timeout_is_retried(server, rig):
    server.script.append(Reply(200, delay=2.0))
    r = rig(n=2, request_timeout_seconds=0.2)
    await r.drive(lambda: r.spool.acked_seq == 1)
    assert len(server.telemetry()) == 2
    assert "Timeout" in r.shipper.stats.last_error


async def test_dropped_connection_is_retried(server, rig):
    server.script.append(Reply(drop=True))
    r = rig(n=2)
    await r.drive(lambda: r.spool.acked_seq == 1)
    assert len(server.telemetry()) == 2


async def test_connection_refused_backs_off_exponentially_and_keeps_the_data(tmp_path, agent_settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    sleeps = Sleeps()
    settings = msgspec.structs.replace(agent_settings, backoff_base_seconds=1.0, backoff_cap_seconds=60.0)
    r = Rig(tmp_path, f"http://127.0.0.1:{port}", settings, 3, sleeps)
    await r.drive(lambda: len(sleeps.delays) >= 8)
    for attempt, delay in enumerate(sleeps.delays[:8]):
        assert 0 <= delay <= min(60.0, 2.0**attempt)
    assert max(sleeps.delays[:8]) > 1.0  # it does grow
    assert r.spool.acked_seq == -1
    assert Spool.open(r.dir / "spool").stats().unacked_samples == 3
    assert "ConnectError" in r.shipper.stats.last_error


@pytest.mark.parametrize("status", [400, 422])
async def test_invalid_batches_are_dead_lettered_not_retried(server, rig, status):
    server.handler = lambda req: Reply(status, {"detail": "bad sample"})
    r = rig(n=4)
    await r.drive(lambda: r.spool.acked_seq == 3)
    assert len(server.telemetry()) == 1
    lines = (r.dir / "spool" / DEAD_LETTER_NAME).read_text().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["status"] == status and entry["samples"] == 4
    assert [s["seq"] for s in entry["batch"]["samples"]] == [0, 1, 2, 3]
    assert r.shipper.stats.dead_lettered == 4
    assert Spool.open(r.dir / "spool").stats().dead_letter_total == 4


@pytest.mark.parametrize("status", [500, 501, 507])
async def test_server_errors_are_retried_then_acked(server, rig, status):
    """A 500 may come from a deploy or a passing fault: retried with backoff, nothing dead-lettered."""
    sleeps = Sleeps()
    server.script.extend([Reply(status, {"detail": "boom"})] * 3)
    r = rig(n=3, sleep=sleeps)
    await r.drive(lambda: r.spool.acked_seq == 2)
    assert [len(q.payload["samples"]) for q in server.telemetry()] == [3, 3, 3, 3]
    assert len(sleeps.delays) == 3 and r.shipper.stats.retries == 3
    assert r.shipper.stats.dead_lettered == 0 and r.shipper.stats.splits == 0
    assert not (r.dir / "spool" / DEAD_LETTER_NAME).exists()


async def test_a_sample_the_server_keeps_failing_on_is_isolated_and_only_it_is_dead_lettered(server, rig):
    """A poison sample (seq 5) that the server fails on with 500 every time: the batch is split after
    server_error_attempts failures in a row, down to that sample alone, which goes to the dead-letter file;
    every other sample is delivered, and the host's telemetry flows again."""

    def handler(req: Request) -> Reply:
        if 5 in {s["seq"] for s in req.payload["samples"]}:
            return Reply(500, {"detail": "unhandled error"})
        return default_handler(req)

    server.handler = handler
    r = rig(n=8, server_error_attempts=2)
    await r.drive(lambda: r.spool.acked_seq == 7)
    batches = [[s["seq"] for s in q.payload["samples"]] for q in server.telemetry()]
    accepted = sorted(seq for seqs in batches if 5 not in seqs for seq in seqs)
    assert accepted == [0, 1, 2, 3, 4, 6, 7]
    # 8 fails twice, then its halves: [0-3] is accepted, [4-7] fails twice, [4,5] twice, [4] ok, [5] twice
    assert [len(seqs) for seqs in batches] == [8, 8, 4, 4, 4, 2, 2, 1, 1, 1, 2]
    lines = (r.dir / "spool" / DEAD_LETTER_NAME).read_text().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["status"] == 500 and [s["seq"] for s in entry["batch"]["samples"]] == [5]
    assert r.shipper.stats.dead_lettered == 1 and r.shipper.stats.splits == 3


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_auth_failures_pause_without_retrying_and_keep_the_data(server, rig, status):
    server.handler = lambda req: Reply(status, {"detail": "no"})
    r = rig(n=2, sleep=Sleeps(block_at_least=3600), auth_pause_seconds=3600)
    await r.drive(lambda: r.shipper.stats.auth_failures == 1)
    await asyncio.sleep(0.05)
    assert len(server.telemetry()) == 1
    assert r.spool.acked_seq == -1


async def test_auth_pause_rereads_the_credential_file(server, rig):
    def handler(req: Request) -> Reply:
        if req.headers.get("authorization") != "Bearer fixed-token":
            return Reply(401)
        return default_handler(req)

    server.handler = handler
    box: dict[str, Rig] = {}

    async def operator_fixes_credential(delay: float) -> None:
        if delay >= 30:  # the auth pause
            box["rig"].store.save(Credential(host_id=HOST, token="fixed-token"))
        await asyncio.sleep(0)

    r = box["rig"] = rig(n=2, sleep=operator_fixes_credential, auth_pause_seconds=30)
    await r.drive(lambda: r.spool.acked_seq == 1)
    assert [q.headers["authorization"] for q in server.telemetry()] == [
        f"Bearer {TOKEN}",
        "Bearer fixed-token",
    ]
    assert r.shipper.stats.auth_failures == 1


async def test_413_splits_until_accepted(server, rig):
    def handler(req: Request) -> Reply:
        return Reply(413) if len(req.payload["samples"]) > 2 else default_handler(req)

    server.handler = handler
    r = rig(n=8)
    await r.drive(lambda: r.spool.acked_seq == 7)
    accepted = [q.payload for q in server.telemetry() if len(q.payload["samples"]) <= 2]
    assert sorted(s["seq"] for b in accepted for s in b["samples"]) == list(range(8))
    assert [len(q.payload["samples"]) for q in server.telemetry()] == [8, 4, 2, 2, 4, 2, 2]
    assert r.shipper.stats.splits == 3


async def test_413_on_a_single_sample_dead_letters_it(server, rig):
    server.handler = lambda req: Reply(413)
    r = rig(n=2)
    await r.drive(lambda: r.spool.acked_seq == 1)
    assert [len(q.payload["samples"]) for q in server.telemetry()] == [2, 1, 1]
    assert r.shipper.stats.dead_lettered == 2


async def test_batches_respect_the_size_limit_and_facts_are_sent_once(server, rig):
    r = rig(n=7, batch_max_samples=3)
    await r.drive(lambda: r.spool.acked_seq == 6)
    payloads = [q.payload for q in server.telemetry()]
    assert [len(p["samples"]) for p in payloads] == [3, 3, 1]
    assert ["facts" in p for p in payloads] == [True, False, False]


async def test_changed_facts_are_sent_again(server, rig):
    r = rig(n=1)
    task = asyncio.create_task(r.drive(lambda: r.spool.acked_seq == 2))
    await wait_until(lambda: r.spool.acked_seq >= 0)
    r.facts = wire.HostFacts(hostname="web-1", cpu_cores=8)
    r.spool.append(1.8e9, {"cpu_util": 1.0})
    r.spool.append(1.8e9 + 1, {"cpu_util": 1.0})
    r.spool.sync()
    r.durable.set()
    await task
    payloads = [q.payload for q in server.telemetry()]
    assert payloads[0]["facts"]["cpu_cores"] == 4
    assert payloads[-1]["facts"]["cpu_cores"] == 8


def test_parse_retry_after():
    now = float(int(time.time()))
    assert parse_retry_after("12") == 12
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert (
        parse_retry_after(format_datetime(datetime.fromtimestamp(now + 30, tz=UTC), usegmt=True), now=now)
        == 30
    )
    assert (
        parse_retry_after(format_datetime(datetime.fromtimestamp(now - 30, tz=UTC), usegmt=True), now=now)
        == 0
    )
    assert parse_retry_after("999999") == 3600


def test_backoff_full_jitter_bounds_and_retry_after_floor():
    b = Backoff(1.0, 60.0, rng=random.Random(0))
    for attempt in range(20):
        assert 0 <= b.delay(attempt) <= min(60.0, 2.0**attempt)
    assert b.delay(0, retry_after=30) >= 30


async def test_token_bucket_bounds_the_replay_rate():
    now = [0.0]
    waits: list[float] = []

    async def fake_sleep(delay: float) -> None:
        waits.append(delay)
        now[0] += delay

    bucket = TokenBucket(rate=100.0, capacity=100.0, clock=lambda: now[0])
    for _ in range(5):
        await bucket.acquire(100, fake_sleep)
    # 500 samples at 100/s with a burst of 100: 4 s of waiting, whatever the wall clock says
    assert sum(waits) == pytest.approx(4.0)


async def test_no_busy_loop_when_seqs_jumped_after_a_torn_tail(server, tmp_path, agent_settings):
    spool = Spool.open(tmp_path / HOST / "spool")
    for i in range(3):
        spool.append(1.7e9 + i, {"cpu_util": 1.0})
    spool.sync()
    os.close(spool._fd)  # killed...
    os.close(spool._lock_fd)
    seg = next((tmp_path / HOST / "spool").glob("*.seg"))
    os.truncate(seg, seg.stat().st_size - 3)  # ...mid-write of the last record
    r = Rig(tmp_path, server.url, agent_settings, 0, Sleeps())
    assert r.spool.durable_seq > 1  # numbering jumped past the torn record
    reads = []
    real_read = r.spool.read
    r.spool.read = lambda n: reads.append(n) or real_read(n)
    task = asyncio.create_task(r.drive(lambda: False))
    await wait_until(lambda: r.spool.acked_seq == 1)
    await asyncio.sleep(0.2)  # a busy loop would read thousands of times meanwhile
    r.shipper.request_stop()
    await task
    assert len(reads) <= 3
