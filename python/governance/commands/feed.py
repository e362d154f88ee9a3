"""`governance feed`: a simulated nightly feed (hold back the last days, deliver one per night)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from governance import settings
from governance.arguments import positive_int


def _cmd_init(args: argparse.Namespace) -> int:
    from governance.simulator.feed import generate_with_holdback

    try:
        manifest = generate_with_holdback(
            args.raw_dir,
            args.truth_dir,
            holdback_days=args.holdback_days,
            scale=args.scale,
            seed=args.seed,
            end_date=args.end_date,
            days=args.days,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    feed = manifest["feed"]
    print(
        f"Generated '{args.scale}' marketplace (seed {args.seed}, {feed['start_date']} to "
        f"{feed['end_date']}); delivered up to {feed['initial_night']} into {args.raw_dir}; "
        f"{args.holdback_days} night(s) held back ({feed['next_night']} to {feed['last_night']})"
    )
    return 0


def _cmd_advance(args: argparse.Namespace) -> int:
    from governance.simulator.feed import FeedError, advance_day

    try:
        delivery = advance_day(Path(args.raw_dir), Path(args.truth_dir))
    except FeedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = sum(delivery.rows.values())
    print(
        f"Delivered night {delivery.night}: {total:,} rows into {args.raw_dir} "
        f"({delivery.remaining_nights} night(s) left)"
    )
    for table, count in delivery.rows.items():
        if count:
            print(f"  {table:<26}{count:>10,}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "feed",
        help="simulated nightly feed: hold back the last days of a generation, deliver one a night",
        description="`feed init` generates a marketplace and delivers all but its last "
        "--holdback-days nights; `feed advance` appends the next night's arrivals (late events "
        "included) as <table>/<night>.parquet. After every night, the raw folders hold the same "
        "records as one `governance generate` of the span.",
    )
    sub = p.add_subparsers(dest="feed_command", required=True)
    i = sub.add_parser("init", help="generate and hold back the last nights")
    i.add_argument("--holdback-days", type=positive_int, required=True, help="nights held back")
    i.add_argument(
        "--scale",
        default="small",
        choices=["tiny", "small", "medium", "large"],
        help="size tier (default small)",
    )
    i.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    i.add_argument("--end-date", default=None, help="last simulated day (YYYY-MM-DD)")
    i.add_argument("--days", type=positive_int, default=None, help="number of simulated days")
    a = sub.add_parser("advance", help="deliver the next held-back night")
    for q in (i, a):
        q.add_argument("--raw-dir", default=str(settings.raw_dir()), help="raw Parquet root")
        q.add_argument("--truth-dir", default=str(settings.truth_dir()), help="ground truth")
    i.set_defaults(func=_cmd_init)
    a.set_defaults(func=_cmd_advance)
