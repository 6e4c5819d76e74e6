"""Collector discovery through the entry-point group ``cloudsense.collectors``.

Built-in collectors register exactly like third-party ones (``pyproject.toml``). The rules follow
CONVENTIONS §3: a plugin that fails to import or validate is recorded in :attr:`CollectorRegistry.load_errors`
and logged as ``plugin_load_failed`` (the agent keeps running); two plugins under one name are an error
(neither is loaded: the conflict is reported, not silently resolved); asking for an unknown name raises
:class:`PluginNotFound`, whose message lists the available names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

from agent.collectors.base import Collector
from agent.log import get_logger

if TYPE_CHECKING:
    from agent.settings import AgentSettings

__all__ = ["GROUP", "CollectorRegistry", "DuplicatePlugin", "PluginNotFound"]

GROUP = "cloudsense.collectors"
log = get_logger(__name__)


class PluginNotFound(LookupError):
    """No collector has that name."""

    def __init__(self, name: str, available: Iterable[str]) -> None:
        self.name = name
        self.available = sorted(available)
        super().__init__(f"no collector named {name!r}; available: {', '.join(self.available) or 'none'}")


class DuplicatePlugin(ValueError):
    """Two collectors claim the same name."""


class CollectorRegistry:
    """Collector classes by name, plus the errors met while loading them."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Collector]] = {}
        self.load_errors: dict[str, str] = {}
        """Name -> why that plugin could not be loaded."""

    def register(self, name: str, cls: type[Collector]) -> None:
        """Add a collector class.

        Raises:
            DuplicatePlugin: the name is taken by another class.
            TypeError: the class does not look like a collector or its ``name`` differs.
        """
        existing = self._classes.get(name)
        if existing is not None and existing is not cls:
            raise DuplicatePlugin(f"collector name {name!r} is claimed by {existing!r} and {cls!r}")
        if getattr(cls, "name", None) != name:
            raise TypeError(f"{cls!r}.name is {getattr(cls, 'name', None)!r}, expected {name!r}")
        if not callable(getattr(cls, "collect", None)):
            raise TypeError(f"{cls!r} has no collect() method")
        self._classes[name] = cls

    @classmethod
    def from_entry_points(cls, eps: Iterable[EntryPoint] | None = None) -> CollectorRegistry:
        """Load every entry point of :data:`GROUP` (or the given ones); failures go to ``load_errors``."""
        registry = cls()
        seen: dict[str, str] = {}
        for ep in eps if eps is not None else entry_points(group=GROUP):
            if seen.get(ep.name) == ep.value:
                continue  # the same distribution seen twice on sys.path
            if ep.name in seen:
                registry._fail(ep.name, f"duplicate collector name: {seen[ep.name]} and {ep.value}")
                continue
            seen[ep.name] = ep.value
            try:
                registry.register(ep.name, ep.load())
            except Exception as exc:  # noqa: BLE001 (a broken plugin must not stop the agent)
                registry._fail(ep.name, f"{type(exc).__name__}: {exc}")
        return registry

    def _fail(self, name: str, reason: str) -> None:
        self.load_errors[name] = reason
        self._classes.pop(name, None)
        log.error("plugin_load_failed", group=GROUP, plugin=name, reason=reason)

    def names(self) -> list[str]:
        """Names of the loaded collectors, sorted."""
        return sorted(self._classes)

    def get(self, name: str) -> type[Collector]:
        """The class registered as ``name``.

        Raises:
            PluginNotFound: unknown name (the message lists the available ones).
        """
        try:
            return self._classes[name]
        except KeyError:
            raise PluginNotFound(name, self._classes) from None

    def create(self, names: Sequence[str], settings: AgentSettings) -> list[Collector]:
        """Instantiate the named collectors (all of them when ``names`` is empty).

        Raises:
            PluginNotFound: a name is unknown.
            TypeError: an instance does not satisfy the :class:`Collector` protocol.
        """
        out: list[Collector] = []
        for name in names or self.names():
            instance = self.get(name)(settings)  # type: ignore[call-arg]
            if not isinstance(instance, Collector):
                raise TypeError(f"collector {name!r} does not satisfy the Collector protocol")
            out.append(instance)
        return out
