"""`governance metrics`: the files generated from the metric registry (metric_registry.yml)."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    from governance.metric_outputs import stale_files, write
    from governance.metric_registry import RegistryError, load

    try:
        registry = load()
        changed = stale_files() if args.check else write()
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if changed:
            print(
                f"error: {', '.join(changed)} differ from metric_registry.yml: run "
                "`governance metrics generate`",
                file=sys.stderr,
            )
            return 1
        count = len(registry.metrics)
        print(f"The files generated from metric_registry.yml are current ({count} metrics).")
        return 0
    written = ", ".join(changed) if changed else "nothing (all current)"
    print(f"{len(registry.metrics)} metrics; wrote {written}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "metrics",
        help="write (or --check) the files generated from the metric registry",
        description="Write the files generated from metric_registry.yml: the registry macro dbt "
        "reads, the metric_definitions seed, the MetricFlow semantic models and metrics, the "
        "metric glossary and the metric tables of docs/overview.md. With --check, "
        "write nothing and exit 1 when any differs.",
    )
    p.add_argument("action", choices=["generate"], nargs="?", default="generate")
    p.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    p.set_defaults(func=_run)
