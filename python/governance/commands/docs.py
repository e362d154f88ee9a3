"""`governance docs`: build the documentation site as one static page and check it for raw PII."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from governance import settings


def _run(args: argparse.Namespace) -> int:
    from governance.docs_site import (
        DocsError,
        build_site,
        describe_leaks,
        page_url,
        pii_leaks,
        render,
    )

    target = Path(args.target_path)
    raw = Path(args.raw_dir)
    db = Path(args.duckdb_path)
    if not db.exists():
        print(
            f"warning: no warehouse at {db}: building the site without column types "
            "(run `make demo` or `governance build` first for a full catalog)",
            file=sys.stderr,
        )
    try:
        site = build_site(raw_dir=raw, duckdb_path=db, target_path=target, quiet=not args.verbose)
    except DocsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if raw.is_dir():
        leaks = pii_leaks(site.parent, raw)
        if leaks:
            site.unlink()
            print(
                f"error: the docs site holds raw PII from {raw}; {site.name} was removed:\n"
                f"{describe_leaks(leaks)}",
                file=sys.stderr,
            )
            return 2
        print(f"PII check: no raw value of a PII column of {raw} appears in the site.")
    else:
        print(f"warning: {raw} not found: the site was not checked for raw PII", file=sys.stderr)
    print(f"Docs site: {site}")
    print(f"Open {page_url(site)} in a browser (one file, no server needed).")
    if args.screenshot:
        try:
            shot = target / "docs_overview.png"
            render(page_url(site), screenshot=shot)
        except DocsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"Screenshot of the overview: {shot}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "docs",
        help="build the documentation site (target/static_index.html) and check it for raw PII",
        description="Run `dbt docs generate --static` against the warehouse: one self-contained "
        "page with the overview, the metric glossary, every model, metric and exposure. The "
        "site is then scanned for raw values of the PII columns of the raw export and removed "
        "if any appears (exit 2).",
    )
    p.add_argument("--raw-dir", default=str(settings.raw_dir()), help="raw Parquet root")
    p.add_argument("--duckdb-path", default=str(settings.duckdb_path()), help="warehouse file")
    p.add_argument(
        "--target-path",
        default=str(settings.project_dir() / "target"),
        help="dbt target folder the site is written to (default target/)",
    )
    p.add_argument(
        "--screenshot",
        action="store_true",
        help="also save a screenshot of the overview as docs_overview.png (needs Chromium)",
    )
    p.add_argument("--verbose", action="store_true", help="show dbt's output")
    p.set_defaults(func=_run)
