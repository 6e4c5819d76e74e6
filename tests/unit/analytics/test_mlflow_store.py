"""MLflow's process-wide URIs are set for a block and put back exactly, "unset" included."""

from __future__ import annotations

import os
import threading

import pytest
from mlflow.tracking._model_registry import utils as registry
from mlflow.tracking._tracking_service import utils as tracking

from analytics.mlflow_store import using_store


def _state() -> tuple[object, object, str | None, str | None]:
    return (
        tracking._tracking_uri,
        registry._registry_uri,
        os.environ.get("MLFLOW_TRACKING_URI"),
        os.environ.get("MLFLOW_REGISTRY_URI"),
    )


@pytest.fixture(autouse=True)
def _unset(monkeypatch):
    """Each test starts with nothing set and leaves nothing set."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.setattr(tracking, "_tracking_uri", None)
    monkeypatch.setattr(registry, "_registry_uri", None)


def test_unset_uris_are_unset_again_after_the_block(tmp_path):
    import mlflow

    uri = f"sqlite:///{tmp_path}/a.db"
    with using_store(uri):
        assert mlflow.get_tracking_uri() == uri and mlflow.get_registry_uri() == uri
        assert os.environ["MLFLOW_TRACKING_URI"] == uri  # what a child process started here inherits
    assert _state() == (None, None, None, None)


def test_an_operators_environment_and_set_uris_are_restored(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "http://registry.internal:5000")
    registry._registry_uri = "http://registry.internal:5000"
    before = _state()
    with using_store(f"sqlite:///{tmp_path}/a.db"):
        pass
    assert _state() == before


def test_restored_when_the_block_raises_and_blocks_nest(tmp_path):
    outer, inner = f"sqlite:///{tmp_path}/outer.db", f"sqlite:///{tmp_path}/inner.db"
    with pytest.raises(RuntimeError), using_store(outer):
        with using_store(inner):
            assert tracking._tracking_uri == inner
        assert (tracking._tracking_uri, registry._registry_uri) == (outer, outer)
        raise RuntimeError
    assert _state() == (None, None, None, None)


def test_a_second_thread_waits_for_the_first_block(tmp_path):
    """Two stores used from two threads (a model load while a retraining logs): neither sees the other's."""
    first, second = f"sqlite:///{tmp_path}/1.db", f"sqlite:///{tmp_path}/2.db"
    entered, seen = threading.Event(), []

    def other() -> None:
        entered.wait()
        with using_store(second):
            seen.append(tracking._tracking_uri)

    thread = threading.Thread(target=other)
    with using_store(first):
        thread.start()
        entered.set()
        thread.join(timeout=0.5)  # blocked on the lock, so still alive
        assert thread.is_alive()
        assert tracking._tracking_uri == first
    thread.join()
    assert seen == [second]
    assert _state() == (None, None, None, None)
