"""`governance corrupt`: write one kind of bad input into a raw folder (tests, on-call drills)."""

from __future__ import annotations

import argparse
import sys

from governance import settings
from governance.arguments import positive_int


def _run(args: argparse.Namespace) -> int:
    from governance.simulator.corrupt import corrupt

    try:
        result = corrupt(
            args.raw_dir, args.kind, table=args.table, rows=args.rows, night=args.night
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.describe())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from governance.simulator.corrupt import KINDS

    p = subparsers.add_parser(
        "corrupt",
        help="write one kind of bad input into a raw folder",
        description="Adds a Parquet file of corrupted rows (copies of the table's first rows) "
        "to one raw table folder, or empties a folder, and prints the quarantine rule staging "
        "must apply. Kinds and the tables they apply to: "
        + "; ".join(f"{k} ({', '.join(sorted(t))})" for k, (_, t) in sorted(KINDS.items())),
    )
    p.add_argument("--kind", required=True, choices=sorted(KINDS), help="corruption to apply")
    p.add_argument("--table", default=None, help="raw table (default depends on the kind)")
    p.add_argument(
        "--rows", type=positive_int, default=5, help="corrupted rows to write (default 5)"
    )
    p.add_argument(
        "--night", default=None, help="night the file arrives (YYYY-MM-DD, in the file name)"
    )
    p.add_argument("--raw-dir", default=str(settings.raw_dir()), help="raw Parquet root")
    p.set_defaults(func=_run)
