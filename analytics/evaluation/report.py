"""The metrics table: printed with rich, written as JSON (one object per predictor) and as Markdown."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from rich.table import Table

from analytics.evaluation.metrics import METRIC_NAMES

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from rich.console import Console

    from analytics.etl.report import QualityReport
    from analytics.training.data import FeatureData

__all__ = [
    "COLUMNS",
    "HEADERS",
    "jsonable",
    "make_console",
    "markdown_table",
    "print_breakdown",
    "print_sample",
    "print_table",
    "rich_table",
    "write_json",
]

COLUMNS = ("threshold", *METRIC_NAMES, "rows", "positives")
"""Table columns, in order."""
HEADERS = {
    "threshold": "thr",
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "precision": "prec",
    "recall": "recall",
    "f1": "F1",
    "brier": "Brier",
    "alarm_rate": "alarms",
    "median_lead_time_minutes": "lead min",
    "episodes_detected": "episodes",
    "episodes_total": "of",
    "early_alarm_share": "FA early",
    "rows": "rows",
    "positives": "pos",
}
"""Short column titles, shared by every printed and Markdown metrics table."""


def make_console() -> Console:
    """A console for tables: the terminal's width, or 200 columns when output is a file or a pipe."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=200)


def _cell(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, int) or key in {"rows", "positives", "episodes_detected", "episodes_total"}:
        return f"{int(value)}"
    if key == "alarm_rate":
        return f"{100 * value:.2f}%"
    if key == "median_lead_time_minutes":
        return f"{value:.1f}"
    if key == "threshold":
        return f"{value:.4g}"
    return f"{value:.3f}"


def rich_table(table: Mapping[str, Mapping[str, Any]], title: str) -> Table:
    """The metrics as a rich table (one row per predictor)."""
    out = Table(title=title, title_justify="left")
    out.add_column("predictor", style="bold")
    for key in COLUMNS:
        out.add_column(HEADERS[key], justify="right")
    for name, metrics in table.items():
        out.add_row(name, *(_cell(k, metrics.get(k)) for k in COLUMNS))
    return out


def print_quality(console: Console, report: QualityReport) -> None:
    """The ETL's data-quality summary of a dataset, its warnings in yellow (read them before the table)."""
    for line in report.summary().splitlines():
        console.print(
            line, markup=False, highlight=False, style="yellow" if line.startswith("WARNING") else None
        )


def print_sample(console: Console, data: FeatureData) -> None:
    """Say so, in yellow, when only a sample of the dataset's hosts was loaded (it did not fit the budget)."""
    if data.sample is not None:
        console.print(
            f"[yellow]note[/]: {data.sample.describe()}; the metrics are those of the sampled hosts "
            "(--max-rows all loads every host, if memory allows)"
        )


def print_table(console: Console, table: Mapping[str, Mapping[str, Any]], title: str) -> None:
    """Print the table and, below it, the notes that explain undefined values."""
    console.print(rich_table(table, title))
    for name, metrics in table.items():
        if metrics.get("note"):
            console.print(f"[yellow]{name}[/]: {metrics['note']}")


def markdown_table(table: Mapping[str, Mapping[str, Any]]) -> str:
    """The metrics as a Markdown table."""
    lines = ["| predictor | " + " | ".join(HEADERS[k] for k in COLUMNS) + " |"]
    lines.append("|---|" + "---:|" * len(COLUMNS))
    for name, metrics in table.items():
        lines.append(f"| {name} | " + " | ".join(_cell(k, metrics.get(k)) for k in COLUMNS) + " |")
    return "\n".join(lines)


def jsonable(value: Any) -> Any:
    """NaN and infinities -> None, numpy scalars -> Python, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, table: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write ``{predictor: {metric: value}}`` (NaN as null) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(dict(table)), indent=2) + "\n")
    return path


def print_breakdown(console: Console, breakdown: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
    """Print the per-group metrics of the first model (by host family, by resource)."""
    for kind, groups in breakdown.items():
        if not groups:
            continue
        keys = sorted({k for metrics in groups.values() for k in metrics})
        out = Table(title=f"breakdown {kind}", title_justify="left")
        out.add_column("group", style="bold")
        for key in keys:
            out.add_column(HEADERS.get(key, key), justify="right")
        for group, metrics in groups.items():
            out.add_row(group, *(_cell(k, metrics.get(k)) for k in keys))
        console.print(out)
