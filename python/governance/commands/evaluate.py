"""`governance evaluate`: detection quality against the simulator's planted truth, on the
demo warehouse, or over several seeds with one set of settings (``--seeds``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from governance import settings


def _write(args: argparse.Namespace, text: str) -> None:
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text)


def _run(args: argparse.Namespace) -> int:
    from governance.evaluation import evaluate, format_report, to_json

    if args.seeds:
        from governance.evaluation_seeds import evaluate_seeds, format_seeds_report

        result = evaluate_seeds(args.seeds, args.scale, Path(args.work_dir))
        _write(args, to_json(result))
        print(to_json(result) if args.format == "json" else format_seeds_report(result))
        return 0
    warehouse = settings.existing_warehouse(args.duckdb_path)
    truth = Path(args.truth_dir)
    if not (truth / "incidents.parquet").exists():
        print(
            f"error: {truth} holds no ground truth (generate data with `governance generate`)",
            file=sys.stderr,
        )
        return 2
    report = evaluate(warehouse, truth)
    _write(args, to_json(report))
    print(to_json(report) if args.format == "json" else format_report(report))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score anomaly flags, syndicates and risk scores against planted truth",
        description="Compare what a warehouse built from simulated data detected (metric "
        "anomalies, syndicates, seller risk scores) with the incidents, rings and bad sellers "
        "the simulator planted: precision, recall and ranking quality; with --seeds, generate, "
        "build and score one marketplace per seed and aggregate over the seeds. Exit code 2 "
        "when the warehouse or the ground truth is missing.",
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
        "--seeds",
        nargs="+",
        type=int,
        default=None,
        help="generate, build and evaluate one marketplace per seed in --work-dir (not the "
        "demo warehouse) and aggregate over the seeds",
    )
    p.add_argument("--scale", default="small", help="scale tier of --seeds runs")
    p.add_argument(
        "--work-dir",
        default=str(settings.project_dir() / "target" / "evaluate"),
        help="work folder of --seeds runs (one sub-folder per seed)",
    )
    p.add_argument(
        "--format",
        choices=["table", "json"],
        default="table",
        help="table for people, json for tools",
    )
    p.add_argument("--output", default=None, help="also write the JSON report to this file")
    p.set_defaults(func=_run)
