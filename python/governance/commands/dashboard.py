"""`governance dashboard`: serve the Streamlit dashboard over the published warehouse."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from governance import settings
from governance.arguments import port

PAGES = ("overview", "alerts", "strategies", "syndicates", "data-quality")


def _extra_env(args: argparse.Namespace) -> dict[str, str]:
    if args.dbt_target_path:
        return {"DBT_TARGET_PATH": str(Path(args.dbt_target_path).resolve())}
    return {}


def _run(args: argparse.Namespace) -> int:
    from governance.dashboard import screenshot

    db = Path(args.duckdb_path).resolve()
    if not db.is_file():
        print(
            f"error: no published warehouse at {db}: run `make demo` or `governance build` "
            f"first, or set {settings.DUCKDB_PATH_ENV}.",
            file=sys.stderr,
        )
        return 2
    if args.screenshot:
        try:
            with screenshot.serve(db, port=args.port, extra_env=_extra_env(args)) as url:
                page = "" if args.page == "overview" else args.page
                out = screenshot.capture(f"{url}/{page}", Path(args.screenshot))
        except screenshot.ScreenshotError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"Screenshot of the {args.page} page: {out}")
        return 0

    command = screenshot.streamlit_command(
        port=args.port or 8501, address=args.address, headless=args.headless
    )
    env = {**os.environ, settings.DUCKDB_PATH_ENV: str(db), **_extra_env(args)}
    print(f"Dashboard over {db} (read-only) on http://{args.address}:{args.port or 8501}")
    sys.stdout.flush()
    # Become the Streamlit server: signals (Ctrl-C, SIGTERM) reach it directly.
    os.execve(command[0], command, env)
    return 0  # not reached


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "dashboard",
        help="serve the Streamlit dashboard over the published warehouse (read-only)",
        description="Serve the Streamlit dashboard over the published warehouse, opened "
        "read-only, or save a screenshot of one page with --screenshot. Exit code 2 when there "
        "is no warehouse.",
    )
    p.add_argument(
        "--duckdb-path", default=str(settings.duckdb_path()), help="published warehouse file"
    )
    p.add_argument(
        "--dbt-target-path",
        default=None,
        help="folder of dbt's run_results.json for the data-quality page (default: "
        "$DBT_TARGET_PATH or target/)",
    )
    p.add_argument("--address", default="localhost", help="address to listen on")
    p.add_argument("--port", type=port, default=None, help="port (default 8501; free port for -s)")
    p.add_argument("--headless", action="store_true", help="do not open a browser")
    p.add_argument(
        "-s",
        "--screenshot",
        default=None,
        metavar="PNG",
        help="serve on a free port, save a headless-Chromium screenshot of a page, and exit",
    )
    p.add_argument("--page", choices=PAGES, default="overview", help="page to screenshot")
    p.set_defaults(func=_run)
