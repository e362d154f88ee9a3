"""Value types of the command-line options: a malformed value is refused by the parser with
one line naming the option (exit 2), before any work starts."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from governance import settings


def iso_date(text: str) -> date:
    """A day that exists, written YYYY-MM-DD."""
    try:
        if len(text.strip()) != 10:
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a date that exists, written YYYY-MM-DD, got '{text}'"
        ) from None


def _whole(text: str, minimum: int, maximum: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        upper = f" and {maximum:,}" if maximum is not None else ""
        bound = f"between {minimum}{upper}" if upper else f"{minimum} or more"
        raise argparse.ArgumentTypeError(f"must be a whole number {bound}, got '{text}'")
    return value


def non_negative_int(text: str) -> int:
    return _whole(text, 0)


def positive_int(text: str) -> int:
    return _whole(text, 1)


def port(text: str) -> int:
    return _whole(text, 1, 65535)


def share(text: str) -> float:
    """A fraction of at least 0 (0.25 = 25 %)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a fraction of 0 or more, got '{text}'")
    return value


def may_create_warehouse(args: argparse.Namespace) -> bool:
    """A build may create the warehouse's folder when asked (--create-warehouse) or when the
    warehouse is the checkout's demo one (`make demo` on a fresh checkout)."""
    asked = getattr(args, "create_warehouse", False)
    return asked or Path(args.duckdb_path).resolve() == settings.default_duckdb_path().resolve()


def add_create_warehouse(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--create-warehouse",
        action="store_true",
        help="create the warehouse's folder if it does not exist (without it, a folder that "
        "does not exist is refused: a mistyped path never starts a new warehouse; the demo "
        "path warehouse/ is created unasked)",
    )
