"""The model card: what the model was trained on, how it was split, how it scores beside the baselines,
and what it cannot do. Markdown, logged with every model.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from analytics.evaluation.report import markdown_table

if TYPE_CHECKING:
    from analytics.training.pipeline import TrainResult

__all__ = ["render_model_card"]

_SCHEMES = {
    "fleet": (
        "forward in time **and** grouped by host: hosts dealt (seeded, stratified by host family) into "
        "disjoint train / validation / test groups; train rows end one horizon before the first cut, "
        "validation rows lie between the cuts (ending one horizon before the second), test rows after it. "
        "Test hosts were never seen in training."
    ),
    "host-time": (
        "forward in time within each host: each host's earlier history trains, the middle validates, the "
        "later part tests, with a purge gap of one horizon between periods."
    ),
    "day": "by whole UTC days: earliest days train, next validate, latest test (no day in two periods).",
}


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(float(ts), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def render_model_card(result: TrainResult, *, model_name: str = "", version: str = "") -> str:
    """Render the model card of a training result.

    Args:
        result: The training result.
        model_name: Registered model name, if registered.
        version: Registered version, if registered.

    Returns:
        Markdown text.
    """
    data, split, evaluation = result.data, result.split, result.evaluation
    frame = data.frame
    ts = frame["timestamp"]
    lines = [f"# Model card: {model_name or 'CloudSense exhaustion model'} {version}".rstrip(), ""]
    lines += [
        "Predicts whether a host's CPU, memory or disk becomes exhausted (utilisation >= "
        f"{data.threshold_percent:g} % held >= {data.min_duration_seconds} s) within the next "
        f"{data.horizon_seconds // 60} minutes. Output: a calibrated probability, an alarm at the "
        "validation-chosen threshold, a time-to-exhaustion estimate per resource and the top "
        "contributing features.",
        "",
        "## Data",
        f"- {len(frame):,} rows, {frame['host_id'].nunique()} hosts, {_utc(ts.min())} to {_utc(ts.max())}, "
        f"step {data.step_seconds} s."
        + ("" if data.sample is None else f" Sampled: {data.sample.describe()}."),
        f"- Feature set `{data.feature_set_version}`: {len(data.feature_names)} features "
        f"({', '.join(data.feature_names[:12])}{', ...' if len(data.feature_names) > 12 else ''}).",
        f"- Label resources: {', '.join(data.resources)}. Rows inside an exhaustion episode are excluded "
        "(not onset examples).",
        "",
        "## Split",
        f"Scheme `{split.scheme}`: {_SCHEMES.get(split.scheme, '')}",
        "",
        "| period | rows | positive onset rows |",
        "|---|---:|---:|",
    ]
    onset = frame["exhausted"].to_numpy() == 0
    label = frame["label"].to_numpy()
    for period in ("train", "validation", "test"):
        mask = getattr(split, period)
        lines.append(f"| {period} | {int(mask.sum()):,} | {int(label[mask & onset].sum()):,} |")
    info = {k: v for k, v in split.info.items() if not k.startswith("rows_")}
    if "cut_train_end" in info:
        info["cut_train_end"] = _utc(info["cut_train_end"])
        info["cut_validation_end"] = _utc(info["cut_validation_end"])
    lines += ["", f"Split details: `{info}`", "", "## Test metrics (model beside baselines, same rows)", ""]
    lines += [markdown_table(evaluation.table), ""]
    lines += [
        "Thresholds were chosen on the validation period (models: max F1 of the calibrated probability; "
        "static rule: max F1 of current max utilisation; `predict_linear`: window and threshold by "
        "validation). Lead time: minutes from the first alarm in the horizon before an episode onset to "
        "the onset, median over detected episodes.",
        "",
        "## Training",
    ]
    for name, fit in result.models.items():
        study = fit.study
        lines.append(
            f"- {name}: Optuna study `{study.name}`, {study.complete} complete / {study.pruned} pruned "
            f"trials, best validation objective {study.best_value:.4f}; threshold {fit.threshold:.4f} "
            f"({fit.threshold_rule})."
        )
        lines.append(f"  - parameters: `{study.best_params}`")
    for name, params in result.baselines.params.items():
        lines.append(f"- baseline {name}: `{params}`")
    if result.tte:
        lines += ["", "## Time to exhaustion (quantile regression, test rows that exhaust)", ""]
        lines += ["| resource | test rows | MAE of median (min) | 10-90 % coverage |", "|---|---:|---:|---:|"]
        for resource, model in result.tte.items():
            lines.append(
                f"| {resource} | {model.test_rows} | {_fmt(model.mae_minutes)} | {_fmt(model.coverage)} |"
            )
    if evaluation.breakdown:
        lines += ["", "## Breakdown of the first model on test", ""]
        for kind, groups in evaluation.breakdown.items():
            if not groups:
                continue
            keys = sorted({k for g in groups.values() for k in g})
            lines += [
                f"### {kind}",
                "",
                "| group | " + " | ".join(keys) + " |",
                "|---|" + "---:|" * len(keys),
            ]
            for group, metrics in groups.items():
                lines.append(f"| {group} | " + " | ".join(_fmt(metrics.get(k)) for k in keys) + " |")
            lines.append("")
    lines += [
        "",
        "## Limitations",
        "- Trained on the data above only; a fleet with other workloads, steps or metrics needs its own "
        "backtest (`cloudsense backtest`) before its alarms are trusted.",
        "- The label is derived from telemetry: exhaustion shorter than the minimum duration, or of a "
        "resource not measured, is invisible to it. Missing metrics are NaN features.",
        "- Calibration and threshold come from one validation period; drift in load patterns shifts both.",
        "- Time-to-exhaustion estimates are conditional on the resource exhausting within the horizon.",
        "- Abrupt faults with no precursor (e.g. injected CPU contention) cannot be predicted ahead; only "
        "detected.",
    ]
    if result.notes:
        lines += ["", "## Notes", *[f"- {note}" for note in result.notes]]
    return "\n".join(lines) + "\n"
