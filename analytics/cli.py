"""``cloudsense generate | etl | train | evaluate | backtest``.

Each job lives in its own module, which exposes ``add_arguments(parser)`` and ``run(args, settings) -> int``;
this module only builds the parser and imports the chosen job (so ``generate`` never starts a JVM).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import TYPE_CHECKING

from analytics.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Sequence

# subcommand -> (module, help)
JOBS: dict[str, tuple[str, str]] = {
    "generate": ("analytics.generate.command", "generate a simulated fleet's history as a Parquet lake"),
    "etl": ("analytics.etl.command", "Spark ETL: data quality, resampling, window features, labels"),
    "train": ("analytics.training.command", "tune and train LightGBM and Random Forest; log to MLflow"),
    "evaluate": ("analytics.evaluation.evaluate_command", "score a dataset with a model and the baselines"),
    "backtest": ("analytics.evaluation.backtest_command", "ETL + train on the past, test on the future"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (``[job, options...]``) and run the job."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="cloudsense", description="CloudSense analytics jobs")
    sub = parser.add_subparsers(dest="job", required=True, metavar="JOB")
    job_name = args_in[0] if args_in and args_in[0] in JOBS else None
    for name, (module_name, help_) in JOBS.items():
        job_parser = sub.add_parser(name, help=help_, description=help_)
        if name == job_name:
            importlib.import_module(module_name).add_arguments(job_parser)
    args = parser.parse_args(args_in)
    module = importlib.import_module(JOBS[args.job][0])
    result: int = module.run(args, get_settings())
    return result


if __name__ == "__main__":
    sys.exit(main())
