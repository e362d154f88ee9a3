"""`governance bench`: wall time and peak memory of generating and building a scale tier."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from governance import settings


def _cmd_bench(args: argparse.Namespace) -> int:
    from governance.bench import BenchConfig, BenchError, format_report, run_benchmark

    config = BenchConfig(
        tier=args.scale,
        seed=args.seed,
        work_dir=Path(args.work_dir or settings.project_dir() / "bench" / "work" / args.scale),
        results_dir=Path(args.results_dir),
        reuse_data=args.reuse_data,
        skip=tuple(args.skip or ()),
        timeout_s=args.timeout_minutes * 60,
        max_rss_mb=args.max_rss_gb * 1024,
        dbt_target=args.target,
        project_dir=Path(args.project_dir) if args.project_dir else None,
    )
    try:
        result = run_benchmark(config)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    print(format_report(result))
    print()
    print(f"Results written to {Path(args.results_dir) / (args.scale + '.json')}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bench",
        help="benchmark a scale tier: generation, floor, raw load, metrics_daily in pandas, "
        "dbt and Spark, full and nightly build",
        description=(
            "Generate a scale tier and measure wall time and peak RSS of: data generation, one "
            "DuckDB pass over the raw data (the floor), copying it into DuckDB (the raw load), "
            "the whole metrics_daily computed with pandas and with dbt build --select "
            "+metrics_daily side by side (checked equal row for row), the same dbt build on "
            "Spark (tiny and small tiers, with the spark extra), a full dbt build and the "
            "nightly run. Writes <results-dir>/<scale>.json and prints a table."
        ),
    )
    p.add_argument(
        "--scale",
        default="small",
        choices=["tiny", "small", "medium", "large"],
        help="size tier to benchmark (default small)",
    )
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument(
        "--work-dir",
        default=None,
        help="folder for the raw data, warehouse, dbt artefacts and logs "
        "(default bench/work/<scale>, git-ignored)",
    )
    p.add_argument(
        "--results-dir",
        default=str(settings.project_dir() / "bench" / "results"),
        help="where <scale>.json is written (default bench/results)",
    )
    p.add_argument(
        "--reuse-data",
        action="store_true",
        help="keep the raw data already in the work folder instead of generating it again",
    )
    p.add_argument(
        "--skip",
        nargs="*",
        choices=["incremental", "pandas", "spark"],
        help="steps to leave out (reported as not measured)",
    )
    p.add_argument("--timeout-minutes", type=float, default=240, help="limit per step")
    p.add_argument(
        "--max-rss-gb",
        type=float,
        default=16,
        help="stop a step whose process tree grows past this resident memory (default 16)",
    )
    p.add_argument("--target", default=None, help="dbt target (default: the profile's)")
    p.add_argument(
        "--project-dir",
        default=None,
        help="dbt project to build (default: this checkout), e.g. a copy with a changed config",
    )
    p.set_defaults(func=_cmd_bench)
