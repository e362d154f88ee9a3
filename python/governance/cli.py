"""`governance` command-line interface."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from governance import commands, settings
from governance.arguments import (
    add_create_warehouse,
    iso_date,
    may_create_warehouse,
    positive_int,
)


def _cmd_generate(args: argparse.Namespace) -> int:
    from governance.simulator import generate

    manifest = generate(
        raw_dir=args.raw_dir,
        truth_dir=args.truth_dir,
        scale=args.scale,
        seed=args.seed,
        end_date=args.end_date,
        days=args.days,
    )
    rows = manifest.get("row_counts", manifest.get("rows", {}))
    print(
        f"Generated '{args.scale}' marketplace (seed {args.seed}, "
        f"{manifest.get('start_date')} to {manifest.get('end_date')}) into {args.raw_dir}"
    )
    for table, count in rows.items():
        print(f"  {table:<26}{count:>12,}")
    print(f"Ground truth in {args.truth_dir}")
    return 0


class CommandLineParser(argparse.ArgumentParser):
    """argparse with errors on one line: what is wrong and where to read the usage."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


class MovedOption(argparse.Action):
    """An option that moved to another subcommand: using it is a one-line error naming the new
    route (exit 2), before anything runs."""

    def __init__(self, *args, moved_to: str, **kwargs):
        self.moved_to = moved_to
        super().__init__(*args, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        new = f"governance {self.moved_to}"
        parser.exit(
            2, f"error: {parser.prog}: {option_string} is now `{new}` (see `{new} --help`)\n"
        )


def _cmd_check_raw(args: argparse.Namespace) -> int:
    from governance.contract import check_raw_dir

    violations = check_raw_dir(Path(args.raw_dir))
    if violations:
        print(f"{len(violations)} raw-data contract violation(s) in {args.raw_dir}:")
        for v in violations:
            print(f"  - {v}")
        return 2
    print(f"{args.raw_dir} matches the raw-data contract.")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from governance.contract import RawContractError
    from governance.publish import PublishError, build_published, check_warehouse_dir
    from governance.warehouse import BuildError

    extra = []
    if args.as_of_date:
        extra += ["--vars", f"{{as_of_date: '{args.as_of_date.isoformat()}'}}"]
    if args.select:
        extra += ["--select", *args.select]
    try:
        check_warehouse_dir(Path(args.duckdb_path), create=may_create_warehouse(args))
        results, published = build_published(
            Path(args.raw_dir), Path(args.duckdb_path), extra_args=extra
        )
    except (RawContractError, BuildError, PublishError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_summary(Path(args.duckdb_path), results)
    print(f"Published file: {published.summary()}")
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    warehouse = settings.existing_warehouse(args.duckdb_path)
    results = settings.project_dir() / "target" / "run_results.json"
    _print_summary(warehouse, results if results.exists() else None)
    return 0


def _print_summary(duckdb_path: Path, run_results: Path | None) -> None:
    from governance.warehouse import latest_metric_values, mart_row_counts, run_stats

    print()
    print(f"Marketplace governance warehouse: {duckdb_path}")
    if run_results is not None:
        stats = run_stats(run_results)
        print(
            f"Build: {stats.models} models, {stats.tests_passed} data tests passed"
            f" ({stats.tests_warned} warned, {stats.tests_failed} failed),"
            f" {stats.unit_tests} unit tests passed, {stats.seconds:.1f}s"
        )
    counts = mart_row_counts(duckdb_path)
    print("Published tables: " + ", ".join(f"{k} ({v:,} rows)" for k, v in counts.items()))
    print()
    print("North-star metrics, latest mature day, all regions and categories:")
    print(f"  {'metric':<30}{'day':<12}{'value':>8}  {'95% interval':<18}{'target':>8}")
    for m in latest_metric_values(duckdb_path):
        interval = f"[{m['ci_lower']:.2%}, {m['ci_upper']:.2%}]"
        print(
            f"  {m['metric_name']:<30}{m['metric_date']!s:<12}{m['value']:>8.2%}  "
            f"{interval:<18}{m['target']:>8.1%}"
        )
    _print_incidents(duckdb_path)


def _print_incidents(duckdb_path: Path) -> None:
    """The day's open metric incidents (the `alerts` mart)."""
    from governance.alerts import format_incidents, open_incidents

    try:
        incidents = open_incidents(duckdb_path)
    except Exception as exc:  # noqa: BLE001 - a summary must not hide the metrics above it
        print(f"\nIncidents unavailable: {exc}")
        return
    print()
    print(format_incidents(incidents))
    print("Earlier incidents: governance alerts --open-days 60")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandLineParser(
        prog="governance",
        description="Marketplace governance warehouse: generate data, build, report.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_generate(sub)
    _add_check_raw(sub)
    _add_build(sub)
    _add_summary(sub)
    # Further subcommands live in governance.commands.<name>, each with register(subparsers).
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.register(sub)
    return parser


def _add_paths(p: argparse.ArgumentParser, raw=True, truth=False, db=False) -> None:
    """The folder and file options a subcommand takes, defaulting to the environment's."""
    if raw:
        p.add_argument("--raw-dir", default=str(settings.raw_dir()), help="raw Parquet root")
    if truth:
        p.add_argument("--truth-dir", default=str(settings.truth_dir()), help="ground truth")
    if db:
        p.add_argument("--duckdb-path", default=str(settings.duckdb_path()), help="warehouse file")


def _add_generate(sub: argparse._SubParsersAction) -> None:
    """`governance generate`."""
    parser = sub.add_parser(
        "generate",
        help="write a simulated marketplace in the raw-data layout",
        description="Simulate a marketplace (sellers, listings, strategies, enforcement, "
        "appeals, QA checks, orders, complaints) with planted incidents, rings and bad sellers, "
        "and write it as raw Parquet folders in the raw-data contract layout, with the ground "
        "truth beside it. A nightly feed (nights held back, then delivered one at a time): "
        "`governance feed init` and `governance feed advance`; bad input: `governance corrupt`.",
    )
    parser.add_argument(
        "--scale",
        default="small",
        choices=["tiny", "small", "medium", "large"],
        help="size tier (default small)",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--end-date", default=None, help="last simulated day (YYYY-MM-DD)")
    parser.add_argument("--days", type=positive_int, default=None, help="number of simulated days")
    # One route per task: a nightly feed and bad input have their own commands.
    for option, moved_to, nargs in (
        ("--holdback-days", "feed init", 1),
        ("--advance-day", "feed advance", 0),
        ("--corrupt", "corrupt", 1),
    ):
        parser.add_argument(
            option, nargs=nargs, action=MovedOption, help=argparse.SUPPRESS, moved_to=moved_to
        )
    _add_paths(parser, truth=True)
    parser.set_defaults(func=_cmd_generate)


def _add_check_raw(sub: argparse._SubParsersAction) -> None:
    """`governance check-raw`."""
    parser = sub.add_parser(
        "check-raw",
        help="check a raw folder against the raw-data contract",
        description="Compare every Parquet file of a raw folder with the raw-data contract "
        "(the dbt source declaration): table folders, required columns and their types, read "
        "from the file footers only. Prints every violation with table, column and rule; exit "
        "code 2 when there is any.",
    )
    _add_paths(parser)
    parser.set_defaults(func=_cmd_check_raw)


def _add_build(sub: argparse._SubParsersAction) -> None:
    """`governance build`."""
    parser = sub.add_parser(
        "build",
        help="check the raw folder, run dbt build, print the summary",
        description="Check the raw folder against the contract, run a full dbt build into a "
        "work file and publish it atomically when every node passed; then print the summary. "
        "Exit code 2 on failure (the published warehouse is unchanged).",
    )
    parser.add_argument(
        "--as-of-date", type=iso_date, default=None, help="reporting date (YYYY-MM-DD)"
    )
    parser.add_argument("--select", nargs="*", default=None, help="dbt node selection")
    _add_paths(parser, db=True)
    add_create_warehouse(parser)
    parser.set_defaults(func=_cmd_build)


def _add_summary(sub: argparse._SubParsersAction) -> None:
    """`governance summary`."""
    parser = sub.add_parser(
        "summary",
        help="print the latest north-star metrics of a built warehouse",
        description="Print the published tables with their row counts, the latest mature "
        "value of every north-star metric with its 95%% interval and target, and the metric "
        "incidents open on the latest day. Exit code 2 when there is no warehouse.",
    )
    _add_paths(parser, raw=False, db=True)
    parser.set_defaults(func=_cmd_summary)


def main(argv: list[str] | None = None) -> int:
    """Runs a subcommand. Errors a command does not report itself (a missing or unreadable
    warehouse, a folder it cannot write) end in one line and exit code 2, not a traceback."""
    import duckdb

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except settings.WarehouseNotFoundError as exc:
        message = str(exc)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        message = f"{exc.strerror or exc}{where}"
    except duckdb.Error as exc:
        message = f"cannot read the warehouse: {str(exc).strip().splitlines()[0]}"
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
