"""`governance evaluate`: detection quality against the simulator's planted truth."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from governance import settings


def _run(args: argparse.Namespace) -> int:
    from governance.evaluation import evaluate, format_report, to_json

    warehouse = settings.existing_warehouse(args.duckdb_path)
    truth = Path(args.truth_dir)
    if not (truth / "incidents.parquet").exists():
        print(
            f"error: {truth} holds no ground truth (generate data with `governance generate`)",
            file=sys.stderr,
        )
        return 2
    report = evaluate(warehouse, truth)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(to_json(report))
    print(to_json(report) if args.format == "json" else format_report(report))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score anomaly flags, syndicates and risk scores against planted truth",
        description="Compare what a warehouse built from simulated data detected (metric "
        "anomalies, syndicates, seller risk scores) with the incidents, rings and bad sellers "
        "the simulator planted: precision, recall and ranking quality. Exit code 2 when the "
        "warehouse or the ground truth is missing.",
    )
    p.add_argument(
        "--truth-dir",
        default=str(settings.truth_dir()),
        help="ground truth written by `governance generate` (default data/truth)",
    )
    p.add_argument(
        "--duckdb-path", default=str(settings.duckdb_path()), help="warehouse file to score"
    )
    p.add_argument(
        "--format",
        choices=["table", "json"],
        default="table",
        help="table for people, json for tools",
    )
    p.add_argument("--output", default=None, help="also write the JSON report to this file")
    p.set_defaults(func=_run)
