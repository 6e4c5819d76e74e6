"""Enrollment: exchange an enrollment token for the agent's own credential, and keep it.

Contract with the control plane::

    POST {server}/api/v1/enroll
    Authorization: Bearer <enrollment token>
    Content-Type: application/json
    {"host_id": "web-1", "facts": {...wire.HostFacts...}}

    201 {"host_id": "web-1", "token": "<agent credential>", "token_id": "..."}
    401/403/409/422 application/problem+json {"title", "status", "detail", ...}

The credential is stored in ``<state dir>/credential.json`` (mode 0600, replaced atomically) and used as
``Authorization: Bearer <token>`` on every telemetry POST.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec

from agent import wire
from agent._fs import atomic_write
from agent.log import get_logger

__all__ = [
    "CREDENTIAL_NAME",
    "Credential",
    "CredentialManager",
    "CredentialStore",
    "CredentialUnavailable",
    "EnrollError",
    "enroll",
]

log = get_logger(__name__)
CREDENTIAL_NAME = "credential.json"
_RETRYABLE = frozenset({429, 502, 503, 504})


class Credential(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """What enrollment returns (plus where and when)."""

    host_id: str
    """The identity the credential may write."""
    token: str
    """The bearer secret. Never logged."""
    token_id: str = ""
    """Public id of the token (for revocation; safe to log)."""
    server: str = ""
    """Control plane that issued it."""
    enrolled_at: float = 0.0
    """Unix time of the enrollment."""


class EnrollError(Exception):
    """Enrollment failed.

    Attributes:
        status: HTTP status, ``None`` for a transport error.
        retryable: whether trying again later may succeed (429, 502-504, timeouts, connection errors).
    """

    def __init__(self, message: str, *, status: int | None, retryable: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class CredentialUnavailable(Exception):
    """No usable credential right now (``retryable``: soon, else after a long pause)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class CredentialStore:
    """The credential file of one host identity."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Credential | None:
        """The stored credential; ``None`` if absent or unreadable (logged)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.error("credential_unreadable", path=str(self.path), error=str(exc))
            return None
        try:
            return msgspec.json.decode(data, type=Credential)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.error("credential_corrupt", path=str(self.path), error=str(exc))
            return None

    def save(self, credential: Credential) -> None:
        """Store the credential atomically, readable by its owner only (0600)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(self.path, msgspec.json.encode(credential), mode=0o600)


def _problem_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:300]
    return str(body)[:300]


async def enroll(
    client: httpx.AsyncClient, server: str, enroll_token: str, host_id: str, facts: wire.HostFacts
) -> Credential:
    """Enroll ``host_id`` with the control plane and return its credential (not stored).

    Raises:
        EnrollError: refused (401/403/409/422...) or not reachable.
    """
    url = f"{server.rstrip('/')}/api/v1/enroll"
    payload = {"host_id": host_id, "facts": msgspec.to_builtins(facts)}
    try:
        response = await client.post(url, json=payload, headers={"Authorization": f"Bearer {enroll_token}"})
    except httpx.TransportError as exc:
        raise EnrollError(
            f"cannot reach {url}: {type(exc).__name__}: {exc}", status=None, retryable=True
        ) from exc
    if response.status_code not in (200, 201):
        raise EnrollError(
            f"enrollment refused: HTTP {response.status_code}: {_problem_detail(response)}",
            status=response.status_code,
            retryable=response.status_code in _RETRYABLE,
        )
    try:
        answer = response.json()
        credential = Credential(
            host_id=str(answer["host_id"]),
            token=str(answer["token"]),
            token_id=str(answer.get("token_id", "")),
            server=server,
            enrolled_at=time.time(),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise EnrollError(
            f"unexpected enrollment answer: {exc}", status=response.status_code, retryable=False
        ) from exc
    if credential.host_id != host_id:
        raise EnrollError(
            f"server enrolled {credential.host_id!r}, not {host_id!r}", status=None, retryable=False
        )
    return credential


class CredentialManager:
    """Hands the shipper its bearer token: from the file, else by enrolling (when it has a token).

    Args:
        store: the credential file.
        client: HTTP client for enrollment.
        server: control-plane base URL.
        host_id: this host's identity.
        enroll_token: an enrollment token, or a callable reading one (``None``: cannot enroll).
        facts: the host facts sent with the enrollment.
    """

    def __init__(
        self,
        store: CredentialStore,
        *,
        client: httpx.AsyncClient,
        server: str,
        host_id: str,
        enroll_token: str | Callable[[], str | None] | None,
        facts: Callable[[], wire.HostFacts],
    ) -> None:
        self._store = store
        self._client = client
        self._server = server
        self._host_id = host_id
        self._enroll_token = enroll_token
        self._facts = facts
        self._cached: str | None = None

    def invalidate(self) -> None:
        """Forget the cached token (after a 401/403): the next call re-reads the file."""
        self._cached = None

    async def token(self) -> str:
        """The bearer token to ship with.

        Raises:
            CredentialUnavailable: none stored and enrollment impossible or failed.
        """
        if self._cached is not None:
            return self._cached
        credential = self._store.load()
        if credential is None:
            credential = await self._enroll()
        if credential.host_id != self._host_id:
            raise CredentialUnavailable(
                f"{self._store.path} is for host {credential.host_id!r}, not {self._host_id!r}",
                retryable=False,
            )
        self._cached = credential.token
        return credential.token

    async def _enroll(self) -> Credential:
        token = self._enroll_token() if callable(self._enroll_token) else self._enroll_token
        if not token:
            raise CredentialUnavailable(
                f"not enrolled (no {self._store.path}): "
                "run `cloudsense-agent enroll` or set enroll_token_file",
                retryable=False,
            )
        try:
            credential = await enroll(self._client, self._server, token, self._host_id, self._facts())
        except EnrollError as exc:
            raise CredentialUnavailable(str(exc), retryable=exc.retryable) from exc
        self._store.save(credential)
        log.info("enrolled", host_id=credential.host_id, token_id=credential.token_id)
        return credential
