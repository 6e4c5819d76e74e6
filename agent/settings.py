"""The agent's one settings object: a TOML file, then ``CLOUDSENSE_<SECTION>__<FIELD>`` variables.

This is the only module of the agent that reads the environment. Everything else receives a
:class:`Settings` (or a section of it) as an argument, so tests build ``Settings(...)`` directly.

Precedence, lowest first: field defaults, the TOML file (``[agent]`` and ``[log]`` tables), environment
variables such as ``CLOUDSENSE_AGENT__INTERVAL_SECONDS=5`` (lists are comma-separated), then whatever the
command line overrides explicitly.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "AgentSettings",
    "LogSettings",
    "Settings",
    "SettingsError",
    "load_settings",
]

ENV_PREFIX = "CLOUDSENSE_"
DEFAULT_CONFIG_PATH = Path("/etc/cloudsense/agent.toml")
MIB = 1024 * 1024

Positive = Annotated[float, msgspec.Meta(gt=0.0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0)]


class SettingsError(ValueError):
    """The configuration file or an environment variable is invalid."""


def _default_state_dir(environ: Mapping[str, str]) -> str:
    # systemd's StateDirectory= exports STATE_DIRECTORY (colon-separated when there are several).
    if environ.get("STATE_DIRECTORY"):
        return environ["STATE_DIRECTORY"].split(":")[0]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "/var/lib/cloudsense-agent"
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return str(Path(base) / "cloudsense-agent")


def _default_enroll_token_file(environ: Mapping[str, str]) -> str:
    # systemd's LoadCredential=enroll-token:... lands in $CREDENTIALS_DIRECTORY.
    creds = environ.get("CREDENTIALS_DIRECTORY")
    if creds and (Path(creds) / "enroll-token").is_file():
        return str(Path(creds) / "enroll-token")
    return ""


class AgentSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Section ``[agent]`` / ``CLOUDSENSE_AGENT__*``."""

    server_url: str = ""
    """Base URL of the control plane, e.g. ``https://cloudsense.example:8000``."""
    host_id: str = ""
    """This host's identity; empty: the enrolled credential's host id, else the hostname."""
    state_dir: str = ""
    """Directory for the credential, the spool and the status file (empty: a per-user default)."""
    interval_seconds: Positive = 10.0
    """Seconds between two collections."""
    collectors: list[str] = msgspec.field(default_factory=list)
    """Collector names to run (entry-point group ``cloudsense.collectors``); empty: all installed."""
    batch_max_samples: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1000
    """Most samples in one POST."""
    replay_rate_samples_per_second: NonNegative = 2000.0
    """Token-bucket rate at which a backlog is replayed (0: unlimited)."""
    spool_max_bytes: Annotated[int, msgspec.Meta(ge=64 * 1024)] = 256 * MIB
    """Disk cap of the spool; past it whole oldest segments are dropped (and counted)."""
    spool_segment_bytes: Annotated[int, msgspec.Meta(ge=16 * 1024)] = 8 * MIB
    """Size at which the spool starts a new segment file."""
    fsync_interval_seconds: Positive = 1.0
    """Group commit: the spool fsyncs at most this often (a power cut loses at most this much)."""
    request_timeout_seconds: Positive = 30.0
    """Timeout of one HTTP request (connect, read, write, pool)."""
    ca_file: str = ""
    """PEM bundle of CAs to verify the control plane's TLS certificate (empty: system store)."""
    backoff_base_seconds: Positive = 1.0
    """Base of the full-jitter exponential backoff between retries."""
    backoff_cap_seconds: Positive = 60.0
    """Cap of the backoff between retries."""
    server_error_attempts: Annotated[int, msgspec.Meta(ge=1)] = 10
    """Attempts of a batch that the server keeps failing with 500 (or 501, 505-599) before it is split in
    halves to isolate a sample the server cannot process; a single sample that fails that many times goes to
    the dead-letter file. 429 and 502-504 are retried for ever."""
    auth_pause_seconds: Positive = 300.0
    """Pause of shipping after a 401/403/404 before the credential file is re-read and retried."""
    shutdown_grace_seconds: NonNegative = 5.0
    """On SIGTERM, how long an in-flight shipment may take before it is abandoned (data stays spooled)."""
    enroll_token_file: str = ""
    """File holding an enrollment token; ``run`` enrolls itself with it when it has no credential."""
    dead_letter_max_bytes: Annotated[int, msgspec.Meta(ge=0)] = 16 * MIB
    """Cap of the dead-letter file (batches the server refused as invalid)."""
    disk_mount_timeout_seconds: Positive = 5.0
    """How long the disk collector waits for one mount's ``statvfs`` (a dead NFS server blocks it for ever);
    a mount that does not answer is left out until its call returns."""
    disk_ignore_fstypes: list[str] = msgspec.field(
        default_factory=lambda: [
            "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts",
            "devtmpfs", "efivarfs", "fusectl", "hugetlbfs", "iso9660", "mqueue", "nsfs", "overlay",
            "aufs", "proc", "pstore", "ramfs", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs",
            "sysfs", "tmpfs", "tracefs", "fuse.lxcfs", "fuse.portal", "nfsd",
        ]
    )  # fmt: skip
    """File-system types that are not real storage and never count as mounts."""
    diskio_device_exclude: str = r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p|mmcblk\d+p)\d+$"
    """Regex of block devices left out of disk_io (partitions would count twice; node_exporter's)."""
    network_interface_exclude: str = ""
    """Regex of interfaces left out of network_in/out (loopback interfaces always are)."""


class LogSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Section ``[log]`` / ``CLOUDSENSE_LOG__*`` (the same names as the control plane's)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    """Lowest level written (any case: ``INFO`` works too)."""
    json_output: bool | None = None
    """JSON lines (true), human-readable (false), or JSON exactly when stderr is not a terminal (unset)."""


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Everything the agent can be configured with."""

    agent: AgentSettings = msgspec.field(default_factory=AgentSettings)
    """The agent proper."""
    log: LogSettings = msgspec.field(default_factory=LogSettings)
    """Logging."""


_SECTIONS: dict[str, type[msgspec.Struct]] = {"agent": AgentSettings, "log": LogSettings}
# Sections every CloudSense component reads from one environment (``make demo`` starts them together):
# there, a variable this agent does not know belongs to another component and is not an error.
_SHARED_SECTIONS = frozenset({"log"})


def _list_fields(struct: type[msgspec.Struct]) -> set[str]:
    names = set()
    for field in msgspec.structs.fields(struct):
        default = field.default_factory() if field.default_factory is not msgspec.NODEFAULT else field.default
        if isinstance(default, list):
            names.add(field.name)
    return names


def _from_environ(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key:
            continue
        section, _, field = key[len(ENV_PREFIX) :].lower().partition("__")
        struct = _SECTIONS.get(section)
        if struct is None:
            continue  # another component's section (CLOUDSENSE_DB__URL...)
        if field not in struct.__struct_fields__:
            if section in _SHARED_SECTIONS:
                continue  # a setting of the same section in another component
            raise SettingsError(f"{key}: unknown setting {section}.{field}")
        parsed: Any = value
        if field in _list_fields(struct):
            parsed = [item.strip() for item in value.split(",") if item.strip()]
        out.setdefault(section, {})[field] = parsed
    return out


def load_settings(
    config_file: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Build the settings from defaults, a TOML file, the environment and explicit overrides.

    Args:
        config_file: TOML file; ``None`` reads :data:`DEFAULT_CONFIG_PATH` if it exists.
        environ: the environment to read (default: ``os.environ``).
        overrides: ``{section: {field: value}}`` applied last (command-line flags).

    Returns:
        The validated settings, with ``agent.state_dir`` always set.

    Raises:
        SettingsError: unreadable file, invalid TOML, unknown key or invalid value.
    """
    env = os.environ if environ is None else environ
    data: dict[str, dict[str, Any]] = {}
    path = config_file if config_file is not None else DEFAULT_CONFIG_PATH
    if config_file is not None or path.is_file():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read config {path}: {exc}") from exc
        for section, values in raw.items():
            if section not in _SECTIONS or not isinstance(values, dict):
                raise SettingsError(f"{path}: unknown section [{section}] (expected [agent] or [log])")
            data[section] = dict(values)
    for section, values in _from_environ(env).items():
        data.setdefault(section, {}).update(values)
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update({k: v for k, v in values.items() if v is not None})
    if isinstance(data.get("log", {}).get("level"), str):
        data["log"]["level"] = data["log"]["level"].lower()
    try:
        settings = msgspec.convert(data, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {exc}") from exc
    if not settings.agent.state_dir:
        settings.agent.state_dir = _default_state_dir(env)
    if not settings.agent.enroll_token_file:
        settings.agent.enroll_token_file = _default_enroll_token_file(env)
    return settings
