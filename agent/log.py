"""Logging on the standard library only: JSON lines when stderr is not a terminal, plain text otherwise.

Events are snake_case facts with their data as keyword fields::

    log = get_logger(__name__)
    log.info("batch_shipped", samples=1000, seq=41999)

Context such as ``host_id`` is bound per task with :func:`bind` (a contextvar, so every asyncio task
of the simulated fleet carries its own host) and added to every line logged from that context.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.settings import LogSettings

__all__ = ["ConsoleFormatter", "EventLogger", "JsonFormatter", "bind", "configure", "get_logger"]

_CONTEXT: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("cloudsense_agent_log")
_FIELDS_ATTR = "cloudsense_fields"
_HANDLER_NAME = "cloudsense-agent"


def bind(**fields: Any) -> None:
    """Add fields to every event logged from the current context (task or thread)."""
    _CONTEXT.set({**_CONTEXT.get({}), **fields})


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {**_CONTEXT.get({}), **getattr(record, _FIELDS_ATTR, {})}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``event`` and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as one line of JSON."""
        out: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        out.update(_fields(record))
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """``time level event key=value ...`` for a human at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as one human-readable line (plus a traceback, if any)."""
        pairs = " ".join(
            f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in _fields(record).items()
        )
        line = f"{_timestamp(record)} {record.levelname.lower():<7} {record.getMessage()} {pairs}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class EventLogger:
    """A thin wrapper that turns ``log.info("event", key=value)`` into a stdlib record with fields."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def _log(self, level: int, event: str, exc_info: bool, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, exc_info=exc_info, extra={_FIELDS_ATTR: fields}, stacklevel=3)

    def debug(self, event: str, **fields: Any) -> None:
        """Log at debug level."""
        self._log(logging.DEBUG, event, False, fields)

    def info(self, event: str, **fields: Any) -> None:
        """Log a state change."""
        self._log(logging.INFO, event, False, fields)

    def warning(self, event: str, *, exc_info: bool = False, **fields: Any) -> None:
        """Log a degraded operation that recovers."""
        self._log(logging.WARNING, event, exc_info, fields)

    def error(self, event: str, *, exc_info: bool = False, **fields: Any) -> None:
        """Log a failure."""
        self._log(logging.ERROR, event, exc_info, fields)


def get_logger(name: str) -> EventLogger:
    """Return the event logger for a module (pass ``__name__``)."""
    return EventLogger(logging.getLogger(name))


def configure(settings: LogSettings, stream: IO[str] | None = None) -> None:
    """Install one stderr handler on the root logger with the configured format and level.

    Args:
        settings: the ``[log]`` section.
        stream: where to write (default ``sys.stderr``).
    """
    out = stream if stream is not None else sys.stderr
    use_json = settings.json_output if settings.json_output is not None else not out.isatty()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if use_json else ConsoleFormatter())
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == _HANDLER_NAME:  # configured twice: replace ours, keep anyone else's
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level.upper())
    # httpx logs every request at INFO: far too chatty for an agent that posts every 10 s.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
