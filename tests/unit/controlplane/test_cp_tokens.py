"""Token strings, hashing, roles."""

from __future__ import annotations

import uuid

import pytest

from controlplane.db.base import uuid7
from controlplane.domain.auth.tokens import Role, hash_secret, new_secret, parse, render, secret_matches


def test_render_and_parse_round_trip() -> None:
    token_id, secret = uuid7(), new_secret()
    parsed = parse(render("cs", token_id, secret))
    assert parsed is not None
    assert (parsed.prefix, parsed.token_id, parsed.secret) == ("cs", token_id, secret)


def test_secrets_with_underscores_survive() -> None:
    token_id = uuid.uuid4()
    parsed = parse(f"cse_{token_id.hex}_ab_cd-ef_ghijklmnopqrstuv")
    assert parsed is not None and parsed.secret == "ab_cd-ef_ghijklmnopqrstuv"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "cs_",
        "xx_" + "0" * 32 + "_" + "s" * 40,
        "cs_nothex_" + "s" * 40,
        "cs_" + "0" * 31 + "_" + "s" * 40,
        "cs_" + "0" * 32 + "_short",
        "cs_{" + "0" * 32 + "}_" + "s" * 40,
    ],
)
def test_malformed_tokens_do_not_parse(token: str) -> None:
    assert parse(token) is None


def test_only_the_hash_matches() -> None:
    secret = new_secret()
    stored = hash_secret(secret)
    assert secret not in stored and len(stored) == 64
    assert secret_matches(secret, stored)
    assert not secret_matches(secret + "x", stored)


def test_role_order() -> None:
    assert Role.ADMIN.at_least(Role.OPERATOR)
    assert Role.OPERATOR.at_least(Role.VIEWER)
    assert Role.VIEWER.at_least(Role.AGENT)
    assert not Role.VIEWER.at_least(Role.OPERATOR)
    assert not Role.AGENT.at_least(Role.VIEWER)


def test_uuid7_is_version_7_and_time_ordered() -> None:
    ids = [uuid7() for _ in range(50)]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
    assert len(set(ids)) == 50
    stamps = [u.int >> 80 for u in ids]
    assert stamps == sorted(stamps)
