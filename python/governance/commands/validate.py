"""`governance validate`: run the expectation suites over the published warehouse."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from governance import settings
from governance.arguments import share


def _run(args: argparse.Namespace) -> int:
    from governance.quality import ValidationError, run_checkpoint

    try:
        result = run_checkpoint(
            Path(args.duckdb_path),
            data_docs_dir=Path(args.data_docs_dir) if args.data_docs_dir else None,
            state_path=Path(args.state_file) if args.state_file else None,
            update_state=not args.no_update_state,
            row_count_tolerance=args.row_count_tolerance,
            build_data_docs=not args.no_data_docs,
        )
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.report())
    return result.exit_code


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate",
        help="run the expectation suites over the published warehouse (fails on critical)",
        description="Validate metrics_daily, seller_features and metric_anomalies with Great "
        "Expectations. Exit code 1 when a critical expectation fails, 2 when the warehouse "
        "cannot be read. Warnings are printed only.",
    )
    p.add_argument("--duckdb-path", default=str(settings.duckdb_path()), help="warehouse file")
    p.add_argument(
        "--data-docs-dir",
        default=None,
        help="Data Docs folder: HTML pages of the runs that need no network "
        "(default target/gx_data_docs)",
    )
    p.add_argument("--no-data-docs", action="store_true", help="do not write Data Docs")
    p.add_argument(
        "--state-file",
        default=None,
        help="row counts of the last passing run (default <warehouse>.validation.json beside it)",
    )
    p.add_argument(
        "--no-update-state", action="store_true", help="leave the stored row counts unchanged"
    )
    p.add_argument(
        "--row-count-tolerance",
        type=share,
        default=0.25,
        help="warn when a table's row count moves by more than this fraction (default 0.25)",
    )
    p.set_defaults(func=_run)
