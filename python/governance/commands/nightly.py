"""`governance nightly` and `governance backfill`: incremental build, validation, atomic publish."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from governance import settings
from governance.arguments import add_create_warehouse, may_create_warehouse
from governance.nightly import DEFAULT_LOOKBACK_DAYS
from governance.publish import state_path


def _options(args: argparse.Namespace) -> dict:
    return {
        "lookback_days": args.lookback_days,
        "freshness": not args.skip_freshness,
        "fail_on_stale": args.fail_on_stale,
        "quality": not args.skip_quality,
        "target_path": Path(args.target_path) if args.target_path else None,
        "backfill_changes": args.backfill_changes,
    }


def _finish(args: argparse.Namespace, run) -> int:
    from governance.nightly import NightlyError
    from governance.publish import PublishError, check_warehouse_dir

    try:
        check_warehouse_dir(Path(args.duckdb_path), create=may_create_warehouse(args))
        report = run()
    except (NightlyError, PublishError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"Published {report.published}: night {report.night or '-'} (as of {report.as_of_date}), "
        f"{report.mode}, {report.seconds:.0f}s"
    )
    held_back = {t: c for t, c in report.quarantine.items() if c["quarantined"]}
    if held_back:
        print(
            "Quarantined rows: "
            + ", ".join(f"{t} {c['quarantined']:,}" for t, c in held_back.items())
            + " (see monitoring.data_quality_daily; the rows themselves are in"
            + " staging.stg_marketplace__quarantine of the build state,"
            + f" {state_path(Path(report.published)).name})"
        )
    return 0


def _cmd_nightly(args: argparse.Namespace) -> int:
    from governance.nightly import run_nightly

    return _finish(
        args,
        lambda: run_nightly(
            Path(args.raw_dir),
            Path(args.duckdb_path),
            night=args.date,
            full_refresh=args.full_refresh,
            **_options(args),
        ),
    )


def _cmd_backfill(args: argparse.Namespace) -> int:
    from governance.nightly import run_backfill

    return _finish(
        args,
        lambda: run_backfill(
            Path(args.raw_dir), Path(args.duckdb_path), args.start, args.end, **_options(args)
        ),
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--raw-dir", default=str(settings.raw_dir()), help="raw Parquet root")
    p.add_argument(
        "--duckdb-path", default=str(settings.duckdb_path()), help="published warehouse file"
    )
    p.add_argument(
        "--lookback-days",
        default=DEFAULT_LOOKBACK_DAYS,
        help=f"days re-processed for late-arriving events (default {DEFAULT_LOOKBACK_DAYS})",
    )
    p.add_argument("--skip-freshness", action="store_true", help="do not run dbt source freshness")
    p.add_argument(
        "--fail-on-stale",
        action="store_true",
        help="fail the night when a source is stale relative to the night (error threshold)",
    )
    p.add_argument(
        "--skip-quality", action="store_true", help="do not run the Great Expectations checkpoint"
    )
    p.add_argument(
        "--backfill-changes",
        action="store_true",
        help="take in, before publishing, changes of records older than the days the "
        "incremental facts re-process (a second build from the earliest such day) instead of "
        "reporting them for a later backfill",
    )
    p.add_argument(
        "--target-path", default=None, help="dbt target folder (default <warehouse>-target/)"
    )
    add_create_warehouse(p)


def register(subparsers: argparse._SubParsersAction) -> None:
    n = subparsers.add_parser(
        "nightly",
        help="build the night incrementally into a work file, validate, publish atomically",
        description="Check the raw files, run an incremental dbt build (lookback window for late "
        "events), the Great Expectations checkpoint, and publish the warehouse with an atomic "
        "swap. A failure leaves the published warehouse unchanged. Exit code 2 on failure.",
    )
    n.add_argument(
        "--date",
        default=None,
        help="night to build (YYYY-MM-DD; default: the latest date in the raw file names, else "
        "the reporting date derived from the data)",
    )
    n.add_argument(
        "--full-refresh", action="store_true", help="rebuild every incremental model from scratch"
    )
    _common(n)
    n.set_defaults(func=_cmd_nightly)

    b = subparsers.add_parser(
        "backfill",
        help="rebuild every record dated in a range of nights, then publish",
        description="Re-process every record dated from --from on and publish the warehouse as "
        "of --to (default: the latest delivered night). A --to before the published night "
        "rebuilds the whole warehouse as of --to.",
    )
    b.add_argument("--from", dest="start", required=True, help="first night (YYYY-MM-DD)")
    b.add_argument("--to", dest="end", default=None, help="last night (YYYY-MM-DD)")
    _common(b)
    b.set_defaults(func=_cmd_backfill)
