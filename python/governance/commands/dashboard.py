"""`governance dashboard`: serve the Streamlit dashboard over the published warehouse."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from governance import settings
from governance.arguments import port

PAGES = ("overview", "alerts", "strategies", "syndicates", "seller", "data-quality")


def _screenshots(db: Path, out_dir: Path) -> int:
    """A full-page screenshot of every page into `out_dir`; fails on a page with an error."""
    from governance.dashboard import screenshot

    pages = screenshot.screenshot_pages(db)
    states = screenshot.capture_pages(db, out_dir, pages)
    broken = 0
    for name, state in states.items():
        problems = state["errors"] + state["exceptions"] + state["dialogs"]
        print(f"  {name:<14} {state['png']}" + (f"  PROBLEM: {problems}" if problems else ""))
        broken += bool(problems)
    return 1 if broken else 0


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
    if args.screenshots:
        try:
            return _screenshots(db, Path(args.screenshots))
        except screenshot.ScreenshotError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.screenshot:
        try:
            with screenshot.serve(db, port=args.port) as url:
                out = screenshot.capture(f"{url}/{args.page}", Path(args.screenshot))
        except screenshot.ScreenshotError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"Screenshot of the {args.page} page: {out}")
        return 0

    command = screenshot.streamlit_command(
        port=args.port or 8501, address=args.address, headless=args.headless
    )
    env = {**os.environ, settings.DUCKDB_PATH_ENV: str(db)}
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
    p.add_argument(
        "--screenshots",
        default=None,
        metavar="DIR",
        help="serve on a free port, save a full-page screenshot of every page into DIR, and exit "
        "(1 when a page shows an error)",
    )
    p.set_defaults(func=_run)
