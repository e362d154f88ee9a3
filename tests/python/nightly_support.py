"""Helpers shared by the nightly, quarantine and publish tests (not a test module)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb
import pandas as pd


def base_tables(db: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()


def read_table(db: Path, schema: str, table: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f'select * from "{schema}"."{table}"').df()


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order: by every non-float column, then floats rounded (sums of doubles
    may differ in the last bits with the order rows were added)."""
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    others = [c for c in frame.columns if c not in floats]
    keyed = frame.assign(**{f"__r_{c}": frame[c].round(6) for c in floats})
    order = others + [f"__r_{c}" for c in floats]
    return keyed.sort_values(order, na_position="first").reset_index(drop=True)[list(frame.columns)]


# When the build that wrote a row started, and (base models) the disposition the row had before
# that build re-ranked it: they differ between any two builds by design.
BUILD_STAMP_COLUMNS = ["processed_at", "disposition_before"]
# The record of the build itself (governance.build_results): its id, times and durations; and
# of its publication (governance.publish.renew_publication): its id and time.
BUILD_RECORD_TABLES = (("monitoring", "build_results"), ("monitoring", "publication"))


def table_differences(
    a: Path,
    b: Path,
    schemas: tuple[str, ...] | None = None,
    exclude: tuple[tuple[str, str], ...] = (),
    exact: bool = False,
) -> list[str]:
    """Tables whose rows differ between two warehouses (doubles compared to 1e-9 relative, or
    bit for bit when ``exact``), apart from the build stamps (BUILD_STAMP_COLUMNS), the build's
    own record and the ``exclude`` (schema, table) pairs."""
    tables_a = set(base_tables(a)) - set(exclude) - set(BUILD_RECORD_TABLES)
    tables_b = set(base_tables(b)) - set(exclude) - set(BUILD_RECORD_TABLES)
    if schemas is not None:
        tables_a = {t for t in tables_a if t[0] in schemas}
        tables_b = {t for t in tables_b if t[0] in schemas}
    problems = [f"{s}.{t}: only in {a.name}" for s, t in sorted(tables_a - tables_b)]
    problems += [f"{s}.{t}: only in {b.name}" for s, t in sorted(tables_b - tables_a)]
    for schema, table in sorted(tables_a & tables_b):
        x, y = read_table(a, schema, table), read_table(b, schema, table)
        x = x.drop(columns=BUILD_STAMP_COLUMNS, errors="ignore")
        y = y.drop(columns=BUILD_STAMP_COLUMNS, errors="ignore")
        try:
            pd.testing.assert_frame_equal(
                _normalised(x),
                _normalised(y),
                check_exact=exact,
                **({} if exact else {"rtol": 1e-9, "atol": 1e-12}),
            )
        except AssertionError as exc:
            detail = " ".join(str(exc).split())[:300]
            problems.append(f"{schema}.{table}: {detail}")
    return problems


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def leaked_values(values: set[str], text: str) -> list[str]:
    """The values that occur in `text`. Quick on megabytes of logs: a value is searched for only
    when every one of its words occurs in the text."""
    words = set(re.split(r"[\s\"'`,;()\[\]{}=<>|]+", text))
    found = []
    for value in values:
        parts = [p for p in re.split(r"[\s\"'`,;()\[\]{}=<>|]+", value) if p]
        if parts and all(p in words for p in parts) and value in text:
            found.append(value)
    return sorted(found)
