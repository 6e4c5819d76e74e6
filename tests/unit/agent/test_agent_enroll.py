"""Enrollment against the loopback server: the contract, errors, and the stored credential."""

from __future__ import annotations

import httpx
import pytest

from agent import wire
from agent.enroll import Credential, CredentialStore, EnrollError, enroll
from agent.testserver import Reply


async def test_enroll_posts_the_contract_and_returns_the_credential(server):
    facts = wire.HostFacts(hostname="h", cpu_cores=2)
    async with httpx.AsyncClient() as client:
        cred = await enroll(client, server.url + "/", "enroll-token", "web-1", facts)
    (req,) = server.requests
    assert (req.method, req.path) == ("POST", "/api/v1/enroll")
    assert req.headers["authorization"] == "Bearer enroll-token"
    assert req.payload == {"host_id": "web-1", "facts": {"hostname": "h", "cpu_cores": 2}}
    assert (cred.host_id, cred.token, cred.token_id) == ("web-1", "tok-web-1", "id-web-1")


@pytest.mark.parametrize(
    ("status", "retryable"), [(401, False), (403, False), (409, False), (422, False), (503, True)]
)
async def test_enroll_errors_carry_the_problem_detail(server, status, retryable):
    server.script.append(
        Reply(status, {"type": "urn:x", "title": "T", "status": status, "detail": "why not"})
    )
    async with httpx.AsyncClient() as client:
        with pytest.raises(EnrollError, match="why not") as info:
            await enroll(client, server.url, "t", "web-1", wire.HostFacts())
    assert info.value.status == status and info.value.retryable is retryable


async def test_enroll_unreachable_is_retryable():
    async with httpx.AsyncClient() as client:
        with pytest.raises(EnrollError) as info:
            await enroll(client, "http://127.0.0.1:9", "t", "web-1", wire.HostFacts())
    assert info.value.retryable and info.value.status is None


def test_credential_is_stored_atomically_with_mode_0600(tmp_path):
    store = CredentialStore(tmp_path / "state" / "credential.json")
    store.save(Credential(host_id="a", token="secret"))
    store.save(Credential(host_id="a", token="secret2"))
    assert store.path.stat().st_mode & 0o777 == 0o600
    assert store.load().token == "secret2"
    assert [p.name for p in store.path.parent.iterdir()] == ["credential.json"]  # no temp file left
    store.path.write_text("{garbage")
    assert store.load() is None
