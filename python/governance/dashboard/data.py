"""Read-only data access for the dashboard.

Every table and column name the dashboard uses is defined in this module, so a schema change is
one edit here. Each query opens its own short-lived read-only DuckDB connection on the
*published* warehouse file (``GOVERNANCE_DUCKDB_PATH``) and closes it before returning: the
dashboard never holds the file open and never reads a file a build is writing.

Functions return pandas DataFrames. Functions over marts a partial build may not have produced
(alerts, attribution, strategy performance, syndicates, data quality) return ``None`` when the
table is absent, so pages can say so instead of failing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from governance import settings

# --- relations -------------------------------------------------------------------------------
METRICS_DAILY = "main.metrics_daily"
METRIC_ANOMALIES = "main.metric_anomalies"
ALERTS = "main.alerts"
METRIC_MOVEMENT_ATTRIBUTION = "main.metric_movement_attribution"
STRATEGY_PERFORMANCE = "main.strategy_performance"
SYNDICATES = "main.syndicates"
DATA_QUALITY_DAILY = "main.data_quality_daily"
DATA_QUALITY_RECONCILIATION = "main.data_quality_reconciliation"
METRIC_DEFINITIONS = "reference.metric_definitions"
REGIONS = "reference.regions"
CATEGORIES = "reference.categories"
AS_OF_DATE = "intermediate.int_as_of_date"

#: Segment code that rolls up every region or category.
ALL = "ALL"

#: Schemas whose relations are derived from the raw files (row counts on the quality page).
RAW_DERIVED_SCHEMAS = ("staging", "intermediate")

# --- columns -----------------------------------------------------------------------------------
METRIC_SERIES_COLUMNS = (
    "metric_name",
    "metric_date",
    "region",
    "category",
    "numerator",
    "denominator",
    "value",
    "ci_lower",
    "ci_upper",
    "is_mature",
)
ANOMALY_COLUMNS = (
    "metric_name",
    "metric_date",
    "region",
    "category",
    "value",
    "expected_value",
    "lower_bound",
    "upper_bound",
    "relative_change",
    "direction",
    "severity",
    "p_value",
    "q_value",
)
SYNDICATE_COLUMNS = (
    "syndicate_id",
    "size",
    "n_confirmed_bad",
    "share_confirmed_bad",
    "shared_signal_summary",
    "first_activity_at",
    "last_activity_at",
    "risk_score",
    "n_unenforced_members",
    "unenforced_member_ids",
)
SEVERITY_ORDER = ("critical", "high", "medium", "low", "none")

ALERT_COLUMNS = (
    "incident_id",
    "metric_name",
    "metric_label",
    "anchor_region",
    "anchor_category",
    "first_day",
    "last_day",
    "n_anomalous_days",
    "n_series",
    "severity",
    "severity_rank",
    "direction",
    "peak_date",
    "peak_value",
    "peak_expected_value",
    "related_series",
    "top_segments",
    "n_strategy_changes",
    "strategy_changes",
    "is_open",
    "summary",
)
ATTRIBUTION_COLUMNS = (
    "metric_name",
    "metric_date",
    "comparison",
    "comparison_date",
    "region",
    "category",
    "value_before",
    "value_after",
    "total_change",
    "weight_before",
    "weight_after",
    "rate_before",
    "rate_after",
    "mix_effect",
    "rate_effect",
    "contribution",
    "share_of_change",
    "contribution_rank",
)
#: Comparisons of metric_movement_attribution, the one alerts use first.
COMPARISONS = ("week_over_week", "day_over_day")
STRATEGY_COLUMNS = (
    "strategy_id",
    "strategy_name",
    "strategy_type",
    "policy_code",
    "target_type",
    "strategy_status",
    "is_shadow_mode",
    "window_days",
    "figures_date",
    "n_hits",
    "hits_per_day",
    "enforcement_rate",
    "n_flagged_checks",
    "qa_precision",
    "qa_precision_ci_lower",
    "qa_precision_ci_upper",
    "n_recall_checks",
    "estimated_recall",
    "recall_ci_lower",
    "recall_ci_upper",
    "appeal_overturn_rate",
    "last_change_type",
    "last_changed_at",
)
DATA_QUALITY_DAILY_COLUMNS = (
    "arrived_night",
    "table_name",
    "disposition",
    "rule_name",
    "rule_column",
    "row_count",
    "arrived_row_count",
    "share_of_arrived",
)
RECONCILIATION_COLUMNS = (
    "table_name",
    "raw_row_count",
    "staged_row_count",
    "quarantined_row_count",
    "superseded_row_count",
    "is_reconciled",
)


class WarehouseNotFound(FileNotFoundError):
    """No published warehouse file at the configured path."""


class WarehouseUnavailable(RuntimeError):
    """The published warehouse file exists but cannot be opened read-only right now."""


@dataclass(frozen=True)
class Warehouse:
    """The published warehouse file and a version stamp (modification time in ns).

    A new publish replaces the file and changes the stamp, which is part of every cache key.
    """

    path: Path
    version: int


def published_path() -> Path:
    """The published warehouse path: ``GOVERNANCE_DUCKDB_PATH`` or warehouse/governance.duckdb."""
    return settings.duckdb_path()


def open_published(path: Path | str | None = None) -> Warehouse:
    """Locate the published warehouse file; raise WarehouseNotFound with a fix if it is absent."""
    target = Path(path) if path is not None else published_path()
    target = target.expanduser().resolve()
    if not target.is_file():
        raise WarehouseNotFound(
            f"No published warehouse at {target}. Build one with `make demo` or "
            f"`governance build`, or point {settings.DUCKDB_PATH_ENV} at a built file."
        )
    return Warehouse(target, target.stat().st_mtime_ns)


def query(wh: Warehouse, sql: str, params: Sequence | None = None) -> pd.DataFrame:
    """Run one read-only query on its own connection and return the result."""
    try:
        con = duckdb.connect(str(wh.path), read_only=True)
    except duckdb.IOException as exc:
        raise WarehouseUnavailable(
            f"Cannot open {wh.path} read-only ({exc}). If a build is writing this file, wait "
            "for it to finish; builds should publish by swapping a finished file into place."
        ) from exc
    try:
        return con.execute(sql, list(params or [])).df()
    finally:
        con.close()


def existing_relations(wh: Warehouse) -> set[str]:
    """`schema.name` of every table and view in the warehouse."""
    rows = query(wh, "select table_schema, table_name from information_schema.tables")
    return {f"{s}.{t}" for s, t in zip(rows["table_schema"], rows["table_name"], strict=True)}


def has_relation(wh: Warehouse, relation: str) -> bool:
    return relation in existing_relations(wh)


# --- warehouse facts ---------------------------------------------------------------------------
def warehouse_info(wh: Warehouse) -> dict:
    """Published time, size and reporting date of the warehouse."""
    as_of = None
    if has_relation(wh, AS_OF_DATE):
        frame = query(wh, f"select max(as_of_date) as as_of_date from {AS_OF_DATE}")
        as_of = frame["as_of_date"].iloc[0]
    stat = wh.path.stat()
    return {
        "path": str(wh.path),
        "published_at": datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        "size_mb": stat.st_size / 1e6,
        "as_of_date": None if pd.isna(as_of) else pd.Timestamp(as_of).date(),
    }


def metric_definitions(wh: Warehouse) -> pd.DataFrame:
    return query(
        wh,
        f"""
        select metric_name, metric_label, cohort, maturity_days, direction_is_good,
               target_value, owner
        from {METRIC_DEFINITIONS}
        order by metric_name
        """,
    )


def segment_options(wh: Warehouse) -> dict[str, pd.DataFrame]:
    """Region and category codes with their names, for the segment filters."""
    regions = query(
        wh, f"select region_code as code, region_name as name from {REGIONS} order by code"
    )
    categories = query(
        wh,
        f"select category_code as code, category_name as name from {CATEGORIES} order by code",
    )
    return {"region": regions, "category": categories}


# --- metrics -----------------------------------------------------------------------------------
def metric_series(
    wh: Warehouse,
    region: str = ALL,
    category: str = ALL,
    mature_only: bool = True,
    complete_only: bool = True,
) -> pd.DataFrame:
    """metrics_daily rows of one segment, every metric, ordered by metric and day. By default
    without the cohorts before the data begins (``is_complete`` false), whose values miss
    events that were never exported."""
    columns = ", ".join(METRIC_SERIES_COLUMNS)
    maturity = "and is_mature" if mature_only else ""
    coverage = "and is_complete" if complete_only else ""
    return query(
        wh,
        f"""
        select {columns}
        from {METRICS_DAILY}
        where region = ? and category = ? {maturity} {coverage}
        order by metric_name, metric_date
        """,
        [region, category],
    )


def anomaly_flags(wh: Warehouse, region: str = ALL, category: str = ALL) -> pd.DataFrame:
    """Flagged anomalies (is_anomaly) of one segment, every metric."""
    columns = ", ".join(ANOMALY_COLUMNS)
    return query(
        wh,
        f"""
        select {columns}
        from {METRIC_ANOMALIES}
        where is_anomaly and region = ? and category = ?
        order by metric_name, metric_date
        """,
        [region, category],
    )


def recent_anomalies(wh: Warehouse, limit: int = 200) -> pd.DataFrame:
    """The latest flagged anomalies over every segment, most severe first within a day."""
    columns = ", ".join(ANOMALY_COLUMNS)
    ranks = " ".join(f"when '{s}' then {i}" for i, s in enumerate(SEVERITY_ORDER))
    return query(
        wh,
        f"""
        select {columns}
        from {METRIC_ANOMALIES}
        where is_anomaly
        order by metric_date desc, case severity {ranks} else 9 end, q_value
        limit {int(limit)}
        """,
    )


# --- monitoring, strategy and detection marts ------------------------------------------------
def alerts(wh: Warehouse) -> pd.DataFrame | None:
    """Metric incidents, open ones first, then newest and most severe."""
    if not has_relation(wh, ALERTS):
        return None
    return query(
        wh,
        f"""
        select {", ".join(ALERT_COLUMNS)}
        from {ALERTS}
        order by is_open desc, first_day desc, severity_rank desc, incident_id
        """,
    )


def movement_attribution(
    wh: Warehouse, metric_name: str, metric_date, comparison: str = COMPARISONS[0]
) -> pd.DataFrame | None:
    """Segment contributions to one metric's move on one day, largest first."""
    if not has_relation(wh, METRIC_MOVEMENT_ATTRIBUTION):
        return None
    return query(
        wh,
        f"""
        select {", ".join(ATTRIBUTION_COLUMNS)}
        from {METRIC_MOVEMENT_ATTRIBUTION}
        where metric_name = ? and metric_date = cast(? as date) and comparison = ?
        order by contribution_rank
        """,
        [metric_name, pd.Timestamp(metric_date).date().isoformat(), comparison],
    )


def strategy_windows(wh: Warehouse) -> list[int]:
    """Trailing windows (days) strategy_performance has figures for."""
    if not has_relation(wh, STRATEGY_PERFORMANCE):
        return []
    frame = query(wh, f"select distinct window_days from {STRATEGY_PERFORMANCE} order by 1")
    return [int(v) for v in frame["window_days"]]


def strategy_performance(wh: Warehouse, window_days: int | None = None) -> pd.DataFrame | None:
    """The strategy scorecard for one trailing window (the longest when not given)."""
    if not has_relation(wh, STRATEGY_PERFORMANCE):
        return None
    windows = strategy_windows(wh)
    window = window_days if window_days is not None else (max(windows) if windows else 0)
    return query(
        wh,
        f"""
        select {", ".join(STRATEGY_COLUMNS)}
        from {STRATEGY_PERFORMANCE}
        where window_days = ?
        order by policy_code, is_shadow_mode, strategy_name
        """,
        [window],
    )


def syndicates(wh: Warehouse) -> pd.DataFrame | None:
    """Syndicates, highest risk first (largest first on ties)."""
    if not has_relation(wh, SYNDICATES):
        return None
    return query(
        wh,
        f"""
        select {", ".join(SYNDICATE_COLUMNS)}
        from {SYNDICATES}
        order by risk_score desc nulls last, size desc, syndicate_id
        """,
    )


def data_quality_daily(wh: Warehouse) -> pd.DataFrame | None:
    """Rows held back from the warehouse per night, table, disposition and rule."""
    if not has_relation(wh, DATA_QUALITY_DAILY):
        return None
    return query(
        wh,
        f"""
        select {", ".join(DATA_QUALITY_DAILY_COLUMNS)}
        from {DATA_QUALITY_DAILY}
        order by arrived_night desc, table_name, disposition, rule_name
        """,
    )


def data_quality_reconciliation(wh: Warehouse) -> pd.DataFrame | None:
    """Raw rows = staged + quarantined + superseded, per raw table."""
    if not has_relation(wh, DATA_QUALITY_RECONCILIATION):
        return None
    return query(
        wh,
        f"""
        select {", ".join(RECONCILIATION_COLUMNS)}
        from {DATA_QUALITY_RECONCILIATION}
        order by is_reconciled, table_name
        """,
    )


# --- data quality ------------------------------------------------------------------------------
def relation_row_counts(wh: Warehouse, schemas: Sequence[str] = ("intermediate",)) -> pd.DataFrame:
    """Row count of every table and view in `schemas` (views re-read the raw files).

    A relation that cannot be counted (e.g. raw files moved) gets a null count and the error.
    """
    placeholders = ", ".join("?" for _ in schemas)
    relations = query(
        wh,
        f"""
        select table_schema as schema_name, table_name,
               case when table_type = 'VIEW' then 'view' else 'table' end as relation_type
        from information_schema.tables
        where table_schema in ({placeholders})
        order by table_schema, table_name
        """,
        list(schemas),
    )
    if relations.empty:
        return relations.assign(row_count=pd.Series(dtype="Int64"), error=pd.Series(dtype=str))
    counts: list[int | None] = []
    errors: list[str | None] = []
    try:
        con = duckdb.connect(str(wh.path), read_only=True)
    except duckdb.IOException as exc:
        raise WarehouseUnavailable(f"Cannot open {wh.path} read-only ({exc}).") from exc
    try:
        for schema, table in zip(relations["schema_name"], relations["table_name"], strict=True):
            try:
                counts.append(con.execute(f'select count(*) from {schema}."{table}"').fetchone()[0])
                errors.append(None)
            except duckdb.Error as exc:
                counts.append(None)
                errors.append(str(exc).splitlines()[0][:200])
    finally:
        con.close()
    relations["row_count"] = pd.array(counts, dtype="Int64")
    relations["error"] = errors
    return relations


def run_results_path() -> Path:
    """dbt's run_results.json: in $DBT_TARGET_PATH, else the project's target/ folder."""
    target = os.environ.get("DBT_TARGET_PATH") or str(settings.project_dir() / "target")
    return Path(target) / "run_results.json"


def dbt_results(path: Path | None = None) -> pd.DataFrame | None:
    """One row per dbt node of the last invocation (tests first), or None without the file."""
    source = Path(path) if path is not None else run_results_path()
    if not source.is_file():
        return None
    payload = json.loads(source.read_text())
    rows = []
    for result in payload.get("results", []):
        unique_id = result["unique_id"]
        resource = unique_id.split(".", 1)[0]
        rows.append(
            {
                "resource_type": resource.replace("_", " "),
                "name": unique_id.split(".")[2] if unique_id.count(".") >= 2 else unique_id,
                "status": result.get("status"),
                "failures": result.get("failures"),
                "seconds": float(result.get("execution_time") or 0.0),
                "message": (result.get("message") or "").strip()[:300],
                "unique_id": unique_id,
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "resource_type",
            "name",
            "status",
            "failures",
            "seconds",
            "message",
            "unique_id",
        ],
    )
    frame.attrs["generated_at"] = payload.get("metadata", {}).get("generated_at")
    frame.attrs["path"] = str(source)
    return frame


def stored_source_tests(wh: Warehouse) -> dict | None:
    """The raw-source test results of the last full nightly build, kept beside the warehouse
    (``{"night": ..., "tests": [{name, status, failures, message}]}``), if any."""
    from governance.warehouse import source_tests_path

    try:
        return json.loads(source_tests_path(wh.path).read_text())
    except (OSError, ValueError):
        return None


def nightly_report(wh: Warehouse) -> dict | None:
    """The report of the last published night, kept beside the warehouse, if any."""
    from governance.nightly import read_report

    return read_report(Path(wh.path))


def validation_summary(wh: Warehouse) -> dict | None:
    """The last `governance validate` result stored beside the warehouse, if any."""
    from governance.quality import read_validation_state

    state = read_validation_state(wh.path)
    return state.get("last_run") if state else None
