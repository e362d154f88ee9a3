"""`governance alerts`: the metric incidents open on a day, for people or for machines."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from governance import settings
from governance.arguments import iso_date, non_negative_int


def _cmd_alerts(args: argparse.Namespace) -> int:
    import duckdb

    from governance.alerts import format_incidents, latest_metric_date, open_incidents

    warehouse = settings.existing_warehouse(args.duckdb_path)
    try:
        latest = latest_metric_date(warehouse)
        if args.date is not None and latest is not None and args.date > latest:
            print(
                f"error: --date {args.date} is outside the data: the latest metric date in "
                f"{warehouse} is {latest}, no incident can be open after it",
                file=sys.stderr,
            )
            return 2
        incidents = open_incidents(warehouse, date=args.date, open_days=args.open_days)
        day = args.date or latest
    except (FileNotFoundError, duckdb.Error) as exc:
        print(f"error: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(incidents, indent=2, default=str, ensure_ascii=False))
    else:
        print(format_incidents(incidents, report_date=day))
    return 0


def register(subparsers) -> None:
    from governance.alerts import DEFAULT_OPEN_DAYS

    parser = subparsers.add_parser(
        "alerts",
        help="print the metric incidents open on a day (default: the latest metric date)",
        description=(
            "Print the incidents of the `alerts` table that are open on a day: started on or "
            "before it, with a last anomalous day at most --open-days days before the latest "
            "day their metric has been judged on."
        ),
    )
    parser.add_argument(
        "--date",
        type=iso_date,
        default=None,
        help="day to report on (YYYY-MM-DD, at most the latest metric date)",
    )
    parser.add_argument(
        "--format", choices=["text", "json"], default="text", help="text for people, json for tools"
    )
    parser.add_argument(
        "--open-days",
        type=non_negative_int,
        default=DEFAULT_OPEN_DAYS,
        help=f"days an incident stays open after its last anomalous day ({DEFAULT_OPEN_DAYS})",
    )
    parser.add_argument(
        "--duckdb-path", type=Path, default=settings.duckdb_path(), help="warehouse file"
    )
    parser.set_defaults(func=_cmd_alerts)
