"""``cloudsense <command> [args...]``: dispatch to the component that owns the command."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

# command -> (module exposing ``main(argv) -> int``, extra that provides it, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "serve": ("controlplane.cli", "controlplane", "run the control plane (REST API, scoring, scheduler)"),
    "scheduler": ("controlplane.cli", "controlplane", "run the scheduler alone (leader-elected)"),
    "db": ("controlplane.cli", "controlplane", "database migrations: db upgrade | db downgrade | db current"),
    "token": ("controlplane.cli", "controlplane", "API credentials: token create | list | revoke | enroll"),
    "demo": ("controlplane.demo", "controlplane", "run the whole loop on this machine (embedded default)"),
    "generate": ("analytics.cli", "analytics", "generate a simulated fleet's history as a Parquet lake"),
    "etl": ("analytics.cli", "analytics", "Spark ETL: data quality, resampling, features, labels"),
    "train": ("analytics.cli", "analytics", "train LightGBM and Random Forest (Optuna, MLflow)"),
    "evaluate": ("analytics.cli", "analytics", "score a dataset with a registered model and the baselines"),
    "backtest": ("analytics.cli", "analytics", "ETL + train on the past, test on the future of a dataset"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: cloudsense <command> [args...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, _, help_) in COMMANDS.items()]
    lines += ["", "Run 'cloudsense <command> --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cloudsense`` console script."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    if args[0] == "--version":
        from importlib.metadata import version

        print(version("cloudsense"))
        return 0
    entry = COMMANDS.get(args[0])
    if entry is None:
        print(f"cloudsense: unknown command {args[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, extra, _ = entry
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        print(
            f"cloudsense {args[0]}: a dependency is missing ({exc.name}); "
            f"install it with: pip install 'cloudsense[{extra}]'",
            file=sys.stderr,
        )
        return 2
    run: Callable[[list[str]], int] = module.main
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
