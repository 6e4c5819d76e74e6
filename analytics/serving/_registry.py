"""Resolve a registered model by alias and load its serving bundle.

This is the only place in ``analytics.serving`` that touches MLflow, and it imports MLflow inside the
function: importing ``analytics.serving`` never does. MLflow is used only to resolve
``models:/<name>@<alias>`` and download the model's files; scoring then needs numpy and LightGBM alone.
A control plane that wants no MLflow at all can ship the bundle directory and call ``load_bundle``.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from analytics.mlflow_store import using_store
from analytics.serving._predictor import Predictor, load_bundle

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["BUNDLE_ARTIFACT", "ModelNotFoundError", "load_registered", "resolve_version"]

BUNDLE_ARTIFACT = "bundle"
"""Directory of the bundle inside the registered (pyfunc) model's artifacts: ``artifacts/bundle``."""


class ModelNotFoundError(LookupError):
    """The registry has no such model, or no version of it carries the alias."""


@contextlib.contextmanager
def _not_found_as_lookup_error(tracking_uri: str, name: str, alias: str) -> Iterator[None]:
    """Re-raise MLflow's "not found" answers as :class:`ModelNotFoundError`; anything else as it is.

    An unknown model is ``RESOURCE_DOES_NOT_EXIST``; an unknown alias of a known model is
    ``INVALID_PARAMETER_VALUE`` ("Registered model alias ... not found."), told apart by its text.
    """
    from mlflow.exceptions import MlflowException  # lazy, like every MLflow import here

    try:
        yield
    except MlflowException as exc:
        first = str(exc.message).strip().splitlines()[0] if str(exc.message).strip() else type(exc).__name__
        unknown_alias = (
            exc.error_code == "INVALID_PARAMETER_VALUE" and "alias" in first and "not found" in first
        )
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST" and not unknown_alias:
            raise
        raise ModelNotFoundError(
            f"no model version of {name!r} has the alias {alias!r} in the registry at {tracking_uri} "
            f"({first}); 'cloudsense train' registers one (its first model is also 'champion')"
        ) from exc


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Import and use MLflow without its import-time noise and without PySpark.

    MLflow warns about its own type hints on import: noise for a caller of this package. And
    ``mlflow.types.schema`` imports ``pyspark`` whenever it is installed (for Spark ML vector types that a
    serving bundle never has), which would load Spark's Python package into the control plane. While MLflow
    is first imported here, ``pyspark`` reads as absent; a process that already imported it keeps it.
    """
    hide = "pyspark" not in sys.modules
    if hide:
        sys.modules["pyspark"] = None  # type: ignore[assignment]  # the import system's "not installed"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        if hide and sys.modules.get("pyspark", 0) is None:
            del sys.modules["pyspark"]


def resolve_version(tracking_uri: str, name: str, alias: str = "champion") -> str:
    """The model version number an alias points at.

    Args:
        tracking_uri: MLflow tracking (and registry) URI.
        name: Registered model name.
        alias: Alias, e.g. ``champion`` or ``challenger``.

    Returns:
        The version, as MLflow's string.

    Raises:
        ModelNotFoundError: No such model, or no version with that alias.
    """
    with _quiet():
        from mlflow import MlflowClient  # lazy: serving never imports MLflow eagerly

        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        with _not_found_as_lookup_error(tracking_uri, name, alias):
            return str(client.get_model_version_by_alias(name, alias).version)


def load_registered(
    tracking_uri: str, name: str, alias: str = "champion", dst: str | Path | None = None
) -> Predictor:
    """Download the bundle of ``models:/<name>@<alias>`` and load it.

    MLflow is imported lazily here, only to resolve the alias and fetch the files.

    Args:
        tracking_uri: MLflow tracking (and registry) URI.
        name: Registered model name.
        alias: Alias to resolve.
        dst: Where to download the model; a new temporary directory when omitted.

    Returns:
        The loaded :class:`Predictor`; ``predictor.spec`` tells its threshold, features and step.

    Raises:
        ModelNotFoundError: No such model, or no version with that alias.
        FileNotFoundError: The registered model has no serving bundle.
    """
    target = Path(dst) if dst is not None else Path(tempfile.mkdtemp(prefix="cloudsense-model-"))
    with _quiet():
        from mlflow.artifacts import download_artifacts  # lazy: serving never imports MLflow eagerly

        # models:/ URIs are resolved through the process-wide registry URI only (see analytics.mlflow_store).
        with using_store(tracking_uri), _not_found_as_lookup_error(tracking_uri, name, alias):
            local = download_artifacts(
                artifact_uri=f"models:/{name}@{alias}", dst_path=str(target), tracking_uri=tracking_uri
            )
    candidates = [Path(local) / "artifacts" / BUNDLE_ARTIFACT, Path(local) / BUNDLE_ARTIFACT]
    for candidate in candidates:
        if (candidate / "bundle.json").is_file():
            return load_bundle(candidate)
    msg = f"models:/{name}@{alias} has no serving bundle (looked in {', '.join(map(str, candidates))})"
    raise FileNotFoundError(msg)
