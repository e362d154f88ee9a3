"""`governance evaluate`: detection quality against the simulator's planted truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from governance import settings


def _run(args: argparse.Namespace) -> int:
    from governance.evaluation import evaluate, format_report, to_json

    truth = Path(args.truth_dir)
    if not (truth / "incidents.parquet").exists():
        print(f"error: {truth} holds no ground truth (generate data with `governance generate`)")
        return 2
    report = evaluate(Path(args.duckdb_path), truth)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(to_json(report))
    print(to_json(report) if args.format == "json" else format_report(report))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="score anomaly flags, syndicates and risk scores against planted truth"
    )
    p.add_argument("--truth-dir", default=str(settings.truth_dir()))
    p.add_argument("--duckdb-path", default=str(settings.duckdb_path()))
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--output", default=None, help="also write the JSON report to this file")
    p.set_defaults(func=_run)
