"""`governance semantic-check`: validate the MetricFlow semantic models and metrics."""

from __future__ import annotations

import argparse
from pathlib import Path

from governance import settings


def _run(args: argparse.Namespace) -> int:
    from governance.semantic import check_project

    if args.warehouse:
        settings.existing_warehouse(args.duckdb_path)
    passed, output = check_project(
        duckdb_path=Path(args.duckdb_path), raw_dir=Path(args.raw_dir), warehouse=args.warehouse
    )
    print(output.strip())
    scope = "definitions and warehouse" if args.warehouse else "definitions"
    print(f"Semantic layer ({scope}): {'valid' if passed else 'INVALID'}")
    return 0 if passed else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "semantic-check",
        help="parse the project and run `mf validate-configs` on the semantic layer",
        description="Parse the dbt project into a scratch folder and validate its semantic "
        "models, metrics and time spine with MetricFlow. With --warehouse, also query every "
        "semantic model, dimension, measure and metric in the built warehouse.",
    )
    p.add_argument("--raw-dir", default=str(settings.raw_dir()), help="raw Parquet root")
    p.add_argument("--duckdb-path", default=str(settings.duckdb_path()), help="warehouse file")
    p.add_argument(
        "--warehouse", action="store_true", help="also validate against the built warehouse"
    )
    p.set_defaults(func=_run)
