"""Token strings: ``cs_<id>_<secret>`` (API) and ``cse_<id>_<secret>`` (enrollment).

``<id>`` is the row's UUIDv7 in hex (the lookup key); ``<secret>`` is 256 random bits, URL-safe base64.
Only the SHA-256 of the secret is stored, and it is compared in constant time.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import uuid
from typing import Final, NamedTuple

__all__ = [
    "API_PREFIX",
    "ENROLL_PREFIX",
    "ParsedToken",
    "Role",
    "hash_secret",
    "new_secret",
    "parse",
    "render",
    "secret_matches",
]

API_PREFIX: Final = "cs"
ENROLL_PREFIX: Final = "cse"


class Role(enum.StrEnum):
    """What a credential may do. ``agent`` writes one host's telemetry; the others are ordered."""

    AGENT = "agent"
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Position in ``agent < viewer < operator < admin``."""
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        """Whether this role includes everything ``other`` may do."""
        return self.rank >= other.rank


_RANK = {Role.AGENT: 0, Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


class ParsedToken(NamedTuple):
    """The parts of a token string."""

    prefix: str
    """``cs`` or ``cse``."""
    token_id: uuid.UUID
    """Row id."""
    secret: str
    """Secret part (never stored, never logged)."""


def new_secret() -> str:
    """256 random bits, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """Hex SHA-256 of a secret (the secret is random and long: no salt or slow hash is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def render(prefix: str, token_id: uuid.UUID, secret: str) -> str:
    """The token string handed to the client, once."""
    return f"{prefix}_{token_id.hex}_{secret}"


def parse(token: str) -> ParsedToken | None:
    """Split a token string, or ``None`` when it is not one of ours."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] not in (API_PREFIX, ENROLL_PREFIX) or len(parts[2]) < 16:
        return None
    try:
        token_id = uuid.UUID(hex=parts[1])
    except ValueError:
        return None
    if len(parts[1]) != 32:
        return None
    return ParsedToken(parts[0], token_id, parts[2])
