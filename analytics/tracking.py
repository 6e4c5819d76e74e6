"""MLflow: the only module of CloudSense that imports it.

One training run logs its parameters, test metrics (every predictor), plots, model card and the serving
bundle, and registers the model:

* the registered model is a pyfunc whose artifacts hold the serving bundle (``artifacts/bundle``), so
  ``models:/<name>@<alias>`` carries everything ``analytics.serving.load_registered`` needs; its
  ``predict`` returns the calibrated probability, with a signature and an input example;
* the new version gets the alias ``challenger``; if the model has no ``champion`` yet (the first model
  ever), it gets ``champion`` too. Promotion afterwards is the control plane's decision.

The tracking URI and artifact location come from settings; the experiment is created with that
artifact location, so artifacts never land in the working directory.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import structlog

from analytics.mlflow_store import using_store
from analytics.serving import BUNDLE_ARTIFACT, load_bundle

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from analytics.settings import Settings


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Silence the warnings MLflow raises about itself (its import inspects its own type hints and
    warns; logging warns about optional integrations). They say nothing about our data or code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


with quiet_mlflow():
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature
    from mlflow.pyfunc.model import PythonModel, PythonModelContext


__all__ = ["BundleModel", "RunRecord", "log_training", "quiet_mlflow", "set_alias"]

log = structlog.get_logger()

CHAMPION = "champion"
CHALLENGER = "challenger"


class BundleModel(PythonModel):
    """pyfunc wrapper of a serving bundle: ``predict(features frame) -> calibrated probability``."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load the bundle from the model's artifacts."""
        self._predictor = load_bundle(context.artifacts[BUNDLE_ARTIFACT])

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Calibrated exhaustion probability per row (columns in the bundle's feature order)."""
        names = list(self._predictor.feature_names)
        matrix = model_input[names].to_numpy(dtype=np.float64, na_value=np.nan)
        return self._predictor.predict(matrix)


@dataclass(frozen=True)
class RunRecord:
    """Where a training run went."""

    run_id: str
    """MLflow run id."""
    model_name: str
    """Registered model name."""
    version: str
    """Registered version."""
    aliases: tuple[str, ...]
    """Aliases set on this version."""


def _experiment_id(client: MlflowClient, settings: Settings) -> str:
    name = settings.mlflow.experiment
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    return str(client.create_experiment(name, artifact_location=settings.mlflow_artifact_location()))


def _finite_metrics(prefix: str, metrics: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(float(value)):
            out[f"{prefix}{key}"] = float(value)
    return out


def set_alias(tracking_uri: str, name: str, alias: str, version: str) -> None:
    """Point ``alias`` of registered model ``name`` at ``version``."""
    with quiet_mlflow():
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        client.set_registered_model_alias(name, alias, version)


def log_training(
    settings: Settings,
    *,
    params: Mapping[str, Any],
    table: Mapping[str, Mapping[str, Any]],
    extra_metrics: Mapping[str, float],
    bundle_dir: Path,
    artifacts_dir: Path,
    input_example: pd.DataFrame,
    tags: Mapping[str, str] | None = None,
) -> RunRecord:
    """Log one training run and register its model (``challenger``; ``champion`` if there is none).

    Args:
        settings: Analytics settings (tracking URI, artifact location, experiment, model name).
        params: Run parameters (split, trials, seed, best hyper-parameters ...).
        table: Test metrics, predictor -> metric -> value (logged as ``test.<predictor>.<metric>``).
        extra_metrics: Other metrics (TTE errors, tuning scores).
        bundle_dir: The serving bundle directory.
        artifacts_dir: Plots, model card and metrics JSON, logged as they are.
        input_example: A few feature rows (columns in model order), for the signature.
        tags: Run tags.

    Returns:
        The run id, registered version and the aliases set.
    """
    with quiet_mlflow():
        return _log_training(
            settings,
            params=params,
            table=table,
            extra_metrics=extra_metrics,
            bundle_dir=bundle_dir,
            artifacts_dir=artifacts_dir,
            input_example=input_example,
            tags=tags,
        )


def _log_training(
    settings: Settings,
    *,
    params: Mapping[str, Any],
    table: Mapping[str, Mapping[str, Any]],
    extra_metrics: Mapping[str, float],
    bundle_dir: Path,
    artifacts_dir: Path,
    input_example: pd.DataFrame,
    tags: Mapping[str, str] | None,
) -> RunRecord:
    uri = settings.mlflow_tracking_uri()
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = _experiment_id(client, settings)
    name = settings.mlflow.model_name
    predictor = load_bundle(bundle_dir)
    example = input_example[list(predictor.feature_names)].astype(np.float64)
    signature = infer_signature(example, predictor.predict(example.to_numpy()))
    # start_run and log_model read the process-wide URIs only: set them for the run, then restore them.
    with using_store(uri), mlflow.start_run(experiment_id=experiment_id, tags=dict(tags or {})) as run:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        metrics: dict[str, float] = dict(extra_metrics)
        for predictor_name, values in table.items():
            metrics |= _finite_metrics(f"test.{predictor_name}.", values)
        mlflow.log_metrics({k: v for k, v in metrics.items() if math.isfinite(v)})
        mlflow.log_artifacts(str(artifacts_dir))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=BundleModel(),
            artifacts={BUNDLE_ARTIFACT: str(bundle_dir)},
            signature=signature,
            input_example=example,
            registered_model_name=name,
            pip_requirements=["cloudsense[controlplane]", "lightgbm", "numpy"],
        )
        version = str(info.registered_model_version)
    aliases = [CHALLENGER]
    client.set_registered_model_alias(name, CHALLENGER, version)
    try:
        client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        client.set_registered_model_alias(name, CHAMPION, version)
        aliases.append(CHAMPION)
    log.info("model_registered", model=name, version=version, aliases=aliases, run_id=run.info.run_id)
    return RunRecord(run.info.run_id, name, version, tuple(aliases))
