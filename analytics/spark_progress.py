"""A live progress line for the Spark jobs of a command: its phase, the running stages' tasks, the time taken.

Spark's own console bar is off (it interleaves with the command's output and says nothing of what the job is
for). Instead a thread polls the driver's status tracker twice a second and draws, on stderr::

    features, labels -> Parquet  ━━━━━━━━━━━━━━━╸━━━━━━━━━━━  5/8 tasks  0:00:41

The phase is the command's to name (:meth:`SparkProgress.phase`); the tasks are those of the stages running
at that moment (a stage's tasks are its partitions, so the bar moves in steps of one partition).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import TracebackType

    from pyspark.sql import SparkSession
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = ["SparkProgress"]

POLL_SECONDS = 0.5


class SparkProgress:
    """Context manager drawing the progress of the Spark jobs run inside it (nothing when ``disable``)."""

    def __init__(
        self,
        spark: SparkSession,
        *,
        disable: bool = False,
        poll_seconds: float = POLL_SECONDS,
        console: Console | None = None,
    ):
        self._spark = spark
        self._console = console
        self._disable = disable
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self.stages_seen: set[int] = set()
        """Ids of the stages seen running (for tests and logs)."""

    def __enter__(self) -> SparkProgress:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[tasks]}"),
            TimeElapsedColumn(),
            console=self._console or Console(stderr=True),
            transient=True,
            disable=self._disable,
        )
        self._progress.__enter__()
        self._task = self._progress.add_task("starting Spark", total=None, tasks="")
        if not self._disable:  # nothing to draw: no thread asking the driver twice a second
            self._thread = threading.Thread(target=self._watch, name="spark-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._progress is not None:
            self._progress.__exit__(kind, value, traceback)

    def phase(self, description: str) -> None:
        """Name what the jobs from now on are doing."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=description)

    def _watch(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                done, total = self._tasks()
            except Exception:  # noqa: BLE001 - the context is stopping, or the gateway is gone: stop drawing
                return
            if self._progress is not None and self._task is not None:
                text = f"{done}/{total} tasks" if total else ""
                self._progress.update(self._task, completed=done, total=total or None, tasks=text)

    def _tasks(self) -> tuple[int, int]:
        """Completed and total tasks of the stages running now."""
        tracker = self._spark.sparkContext.statusTracker()
        done = total = 0
        for stage in tracker.getActiveStageIds():
            info: Any = tracker.getStageInfo(stage)
            if info is None:
                continue
            self.stages_seen.add(stage)
            done += info.numCompletedTasks
            total += info.numTasks
        return done, total
