"""Point MLflow's process-wide URIs at one store for a block of code, then put them back exactly.

Some MLflow calls read only the process-wide tracking and registry URIs: ``mlflow.start_run`` and
``log_model`` (tracking), and the resolution of ``models:/name@alias`` (registry), whatever client the
caller holds. Left set after a training run, those URIs would steer every later MLflow call in the process
(and, through ``MLFLOW_TRACKING_URI``, every child process) to that run's store; left unset, MLflow falls
back to its default store and creates ``./mlflow.db`` in the caller's working directory.

:func:`using_store` sets both for the block and restores what was there before, "unset" included (MLflow's
public API can only set a URI, so "unset" is restored through the modules' own globals and the environment
variables they mirror). A re-entrant lock serialises the blocks, so a control plane that loads a model
while a scheduled retraining logs one, in two threads, cannot see the other's store.

Importing this module does not import MLflow.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["using_store"]

_LOCK = threading.RLock()
_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextlib.contextmanager
def using_store(uri: str) -> Iterator[None]:
    """Within the block, MLflow's tracking and registry URIs are ``uri``; afterwards, what they were."""
    from mlflow.tracking._model_registry import utils as registry  # lazy: importing this module is cheap
    from mlflow.tracking._tracking_service import utils as tracking

    with _LOCK:
        saved_env = {name: os.environ.get(name) for name in _ENV}
        saved = (tracking._tracking_uri, registry._registry_uri)
        try:
            tracking.set_tracking_uri(uri)
            registry.set_registry_uri(uri)
            yield
        finally:
            tracking.set_tracking_uri(saved[0])  # type: ignore[arg-type]  # None unsets it (typed str only)
            registry._registry_uri = saved[1]  # set_registry_uri(None) would leave the variable set
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
