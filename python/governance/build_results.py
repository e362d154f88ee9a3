"""The test and validation results of the build that published a warehouse, kept in it.

A build writes ``monitoring.build_results`` into its work file just before the work file is
published (`record`; the publish copies it into the published file, governance.publish): one row per
dbt node of the build (models, seeds, data tests, unit tests) and, when the build validated its work
file (the nightly job), one row per Great Expectations expectation. Readers of the published file
(the dashboard's Data quality page, a BI tool) thus always see the results of the build that
produced what they read, never those of another build or warehouse.

An incremental night leaves the tests on the raw sources to full builds: their rows are carried
over from the table of the warehouse the night started from (``is_carried_over``), with the
build and time that ran them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd

from governance import documented_table

SCHEMA = "monitoring"
TABLE = "build_results"
RELATION = f"{SCHEMA}.{TABLE}"
# dbt names the generic tests on a source `source_<test>_<source>_<table>...`.
SOURCE_TEST_PREFIX = "source_"

#: Columns and their descriptions (written as comments, which BI tools show).
COLUMNS = {
    "build_id": "dbt's invocation id of the build that produced the result.",
    "run_at": "When that build (dbt) or validation (Great Expectations) ran, UTC.",
    "source": "`dbt` (a node of the build) or `great_expectations` (an expectation).",
    "resource_type": "model, seed, test, unit_test, ... for dbt; expectation for Great "
    "Expectations.",
    "name": "The dbt node's name, or the expectation's type.",
    "relation": "The table an expectation checked (its suite); null for dbt nodes.",
    "columns": "The column(s) an expectation checked, comma-separated; null for dbt nodes.",
    "status": "dbt's status (success, pass, warn, fail, error, skipped); passed, warning or "
    "failed for expectations.",
    "severity": "An expectation's severity: critical fails the run, warning is reported.",
    "failures": "Rows that failed a dbt test; null otherwise.",
    "message": "dbt's message, or the expectation's rule and what was observed.",
    "seconds": "Execution time of the dbt node.",
    "is_carried_over": "A raw-source test result kept from the last full build, which an "
    "incremental night does not re-run.",
}
TYPES = {
    "build_id": "varchar",
    "run_at": "timestamp",
    "source": "varchar",
    "resource_type": "varchar",
    "name": "varchar",
    "relation": "varchar",
    "columns": "varchar",
    "status": "varchar",
    "severity": "varchar",
    "failures": "bigint",
    "message": "varchar",
    "seconds": "double",
    "is_carried_over": "boolean",
}
TABLE_COMMENT = (
    "Test and validation results of the build that published this warehouse: one row per dbt "
    "node and per Great Expectations expectation. Written at publish by governance build and "
    "governance nightly."
)


def dbt_rows(run_results: Path) -> pd.DataFrame:
    """One row per node of a dbt invocation's run_results.json."""
    payload = json.loads(Path(run_results).read_text())
    metadata = payload.get("metadata", {})
    rows = []
    for result in payload.get("results", []):
        unique_id = result["unique_id"]
        rows.append(
            {
                "build_id": metadata.get("invocation_id"),
                "run_at": metadata.get("generated_at"),
                "source": "dbt",
                "resource_type": unique_id.split(".", 1)[0],
                "name": unique_id.split(".")[2] if unique_id.count(".") >= 2 else unique_id,
                "status": result.get("status"),
                "failures": result.get("failures"),
                "message": (result.get("message") or "").strip()[:500],
                "seconds": float(result.get("execution_time") or 0.0),
            }
        )
    return _frame(rows)


def expectation_rows(validation, build_id: str | None) -> pd.DataFrame:
    """One row per expectation of a validation run (a governance.quality.ValidationResult)."""
    rows = []
    for outcome in getattr(validation, "outcomes", None) or []:
        status = (
            "passed"
            if outcome.passed
            else ("failed" if outcome.severity == "critical" else "warning")
        )
        rows.append(
            {
                "build_id": build_id,
                "run_at": validation.validated_at,
                "source": "great_expectations",
                "resource_type": "expectation",
                "name": outcome.expectation,
                "relation": outcome.table,
                "columns": ", ".join(outcome.columns),
                "status": status,
                "severity": outcome.severity,
                "message": f"{outcome.rule}: {outcome.detail}".strip(": "),
            }
        )
    return _frame(rows)


def _frame(rows: Iterable[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS))
    frame["run_at"] = pd.to_datetime(frame["run_at"], utc=True).dt.tz_localize(None)
    frame["failures"] = pd.array(frame["failures"], dtype="Int64")
    frame["is_carried_over"] = False
    return frame


def _source_tests(frame: pd.DataFrame) -> pd.Series:
    return (frame["resource_type"] == "test") & frame["name"].str.startswith(SOURCE_TEST_PREFIX)


def read(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """The stored results, or None when the warehouse holds none."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [SCHEMA, TABLE],
    ).fetchone()[0]
    if not exists:
        return None
    return con.execute(f"select {', '.join(COLUMNS)} from {RELATION}").df()


def build_id(database: Path | str) -> str | None:
    """The id of the build that published `database`, if it recorded its results."""
    with duckdb.connect(str(database), read_only=True) as con:
        stored = read(con)
    if stored is None or stored.empty:
        return None
    own = stored.loc[~stored["is_carried_over"].astype(bool), "build_id"].dropna()
    return str(own.iloc[0]) if not own.empty else None


def record(database: Path | str, run_results: Path | str, validation=None) -> pd.DataFrame:
    """Write the build's results into ``monitoring.build_results`` of `database` (a work file about
    to be published), replacing the previous build's; returns the rows written.

    ``validation``: the build's checkpoint of this work file (governance.quality's
    ValidationResult), whose expectations are written too.
    """
    rows = dbt_rows(Path(run_results))
    current_build = rows["build_id"].dropna().iloc[0] if rows["build_id"].notna().any() else None
    if validation is not None:
        rows = pd.concat([rows, expectation_rows(validation, current_build)], ignore_index=True)
    with duckdb.connect(str(database)) as con:
        previous = read(con)
        if previous is not None and not _source_tests(rows).any():
            carried = previous[_source_tests(previous)].assign(is_carried_over=True)
            rows = pd.concat([rows, carried[rows.columns]], ignore_index=True)
        _write(con, rows)
    return rows


def _write(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    columns = {name: (TYPES[name], description) for name, description in COLUMNS.items()}
    documented_table.create_or_replace(con, RELATION, columns, TABLE_COMMENT)
    con.register("build_result_rows", rows)
    try:
        con.execute(f"insert into {RELATION} select {', '.join(COLUMNS)} from build_result_rows")
    finally:
        con.unregister("build_result_rows")
