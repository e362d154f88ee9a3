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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from governance import metric_registry, settings
from governance.publish import REPORTING_DATE_SQL, published_schemas
from governance.severity import SEVERITY_LEVELS

# --- relations -------------------------------------------------------------------------------
METRICS_DAILY = "metrics.metrics_daily"
METRIC_RATES = "metrics.metric_rates"
METRIC_MOVEMENT_INTERVENTIONS = "monitoring.metric_movement_interventions"
SELLER_FEATURES = "detection.seller_features"
SELLER_RISK_SCORES = "detection.seller_risk_scores"
SELLER_SYNDICATES = "detection.seller_syndicates"
SELLER_CASE_EVENTS = "detection.seller_case_events"
LISTING_OUTCOMES = "semantic.fct_listing_outcomes"
STRATEGY_PERFORMANCE_DAILY = "strategy.strategy_performance_daily"
METRIC_ANOMALIES = "detection.metric_anomalies"
ALERTS = "monitoring.alerts"
METRIC_MOVEMENT_ATTRIBUTION = "monitoring.metric_movement_attribution"
STRATEGY_PERFORMANCE = "strategy.strategy_performance"
SYNDICATES = "detection.syndicates"
DATA_QUALITY_DAILY = "monitoring.data_quality_daily"
DATA_QUALITY_RECONCILIATION = "monitoring.data_quality_reconciliation"
BUILD_RESULTS = "monitoring.build_results"
METRIC_DEFINITIONS = "reference.metric_definitions"
REGIONS = "reference.regions"
CATEGORIES = "reference.categories"

#: Segment code that rolls up every region or category.
ALL = "ALL"

#: Grains of metric_rates: the period a rate covers (ISO weeks, calendar months).
GRAINS = ("week", "month", "rolling_7_days", "day")

#: Schemas a metric's record-grain relation can live in: the public facts, then (in a build's
#: state; the published file holds no build internals) the outcome models of metrics without one.
FACT_SCHEMAS = ("semantic", "intermediate")


@dataclass(frozen=True)
class MetricFact:
    """The record-grain relation behind a north-star rate (its cohort's model in the metric
    registry): its cohort day, numerator flag and, for a ratio of sums, the summed amount."""

    model: str
    day_column: str
    flag: str
    amount_column: str | None

    def counted(self, only_flagged: bool) -> str:
        """SQL of what a record adds to the numerator (`only_flagged`) or the denominator."""
        amount = self.amount_column or "1"
        return f"case when {self.flag} then {amount} else 0 end" if only_flagged else amount


def metric_fact(metric_name: str) -> MetricFact:
    """The record-grain fact of a metric, from the metric registry (a test checks each against
    metrics_daily)."""
    registry = metric_registry.load()
    metric = registry.metric(metric_name)
    cohort = registry.cohort_of(metric)
    return MetricFact(cohort.model, cohort.date_column, metric.flag, metric.amount_column)


def fact_relation(wh: Warehouse, fact: MetricFact) -> str | None:
    """`schema.model` of a metric fact in the warehouse; None when it is not there."""
    relations = existing_relations(wh)
    found = [f"{s}.{fact.model}" for s in FACT_SCHEMAS if f"{s}.{fact.model}" in relations]
    return found[0] if found else None


#: Schemas whose relations the quality page counts: the published ones but the reference lists.
COUNTED_SCHEMAS = tuple(s for s in published_schemas() if s != "reference")

# --- columns -----------------------------------------------------------------------------------
RATE_COLUMNS = (
    "metric_name",
    "period_grain",
    "period_start",
    "period_end",
    "region",
    "category",
    "numerator",
    "denominator",
    "value",
    "ci_lower",
    "ci_upper",
    "n_days",
    "days_in_period",
    "is_complete",
    "is_mature",
    "target_status",
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
    if has_relation(wh, METRICS_DAILY):
        frame = query(wh, REPORTING_DATE_SQL)
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
def metric_rates(
    wh: Warehouse, grain: str = "week", region: str = ALL, category: str = ALL
) -> pd.DataFrame | None:
    """metric_rates rows of one grain and segment, every metric, ordered by metric and period;
    None when the warehouse has no metric_rates."""
    if not has_relation(wh, METRIC_RATES):
        return None
    return query(
        wh,
        f"""
        select {", ".join(RATE_COLUMNS)}
        from {METRIC_RATES}
        where period_grain = ? and region = ? and category = ?
        order by metric_name, period_start
        """,
        [grain, region, category],
    )


def metric_date_bounds(wh: Warehouse) -> tuple[date, date]:
    """The first and last day of metrics_daily: the dates the overview's range picker offers."""
    frame = query(
        wh, f"select min(metric_date) as first, max(metric_date) as last from {METRICS_DAILY}"
    )
    return pd.Timestamp(frame["first"].iloc[0]).date(), pd.Timestamp(frame["last"].iloc[0]).date()


def strategy_change_marks(wh: Warehouse) -> pd.DataFrame | None:
    """The strategy changes that could explain a move of each metric (one row per metric and
    change, from metric_movement_interventions); None when that mart is absent."""
    if not has_relation(wh, METRIC_MOVEMENT_INTERVENTIONS):
        return None
    return query(
        wh,
        f"""
        select distinct metric_name, change_id, change_date, strategy_id, strategy_name,
               change_type, change_description
        from {METRIC_MOVEMENT_INTERVENTIONS}
        order by metric_name, change_date, change_id
        """,
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
    ranks = " ".join(f"when '{s}' then {i}" for i, s in enumerate(reversed(SEVERITY_LEVELS)))
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


def strategy_top_sellers(wh: Warehouse, strategy_id: str, limit: int = 25) -> pd.DataFrame | None:
    """The sellers a strategy hit most (from seller_case_events), most hits first."""
    if not has_relation(wh, SELLER_CASE_EVENTS):
        return None
    return query(
        wh,
        f"""
        select seller_id, count(*) as n_hits, max(event_at) as last_hit_at,
               sum(case when outcome = 'enforced' then 1 else 0 end) as n_enforced
        from {SELLER_CASE_EVENTS}
        where event_type = 'strategy_hit' and strategy_id = ?
        group by seller_id
        order by n_hits desc, last_hit_at desc, seller_id
        limit {int(limit)}
        """,
        [strategy_id],
    )


def incident_sellers(
    wh: Warehouse,
    metric_name: str,
    region: str,
    category: str,
    first_day,
    last_day,
    limit: int = 15,
) -> pd.DataFrame | None:
    """The sellers behind an incident: those with the most records counted in the metric's
    numerator in the incident's segment and days (from the metric's record-grain fact), with
    `n_records` (their numerator: records, or the summed amount of a ratio of sums, in the
    metric's count_unit) and `n_cohort` (their denominator)."""
    fact = metric_fact(metric_name)
    relation = fact_relation(wh, fact)
    if relation is None:
        return None
    numerator, denominator = fact.counted(True), fact.counted(False)
    where = [
        f"{fact.day_column} between cast(? as date) and cast(? as date)",
        "seller_id is not null",
    ]
    params: list = [
        pd.Timestamp(first_day).date().isoformat(),
        pd.Timestamp(last_day).date().isoformat(),
    ]
    for column, code in (("region", region), ("category", category)):
        if code != ALL:
            where.append(f"{column} = ?")
            params.append(code)
    return query(
        wh,
        f"""
        select seller_id,
               cast(sum({numerator}) as bigint) as n_records,
               cast(sum({denominator}) as bigint) as n_cohort
        from {relation}
        where {" and ".join(where)}
        group by seller_id
        having sum({numerator}) > 0
        order by n_records desc, n_cohort desc, seller_id
        limit {int(limit)}
        """,
        params,
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


def syndicate_members(wh: Warehouse, syndicate_id: str) -> pd.DataFrame | None:
    """The members of a syndicate with their tie, enforcement and risk, strongest ties first.
    Columns the syndicate detector adds (e.g. the hashed identifiers that bind a member) come
    along."""
    if not has_relation(wh, SELLER_SYNDICATES):
        return None
    extra = [c for c in relation_columns(wh, SELLER_SYNDICATES) if c not in _MEMBER_BASE]
    risk = has_relation(wh, SELLER_RISK_SCORES)
    features = has_relation(wh, SELLER_FEATURES)
    return query(
        wh,
        f"""
        select m.seller_id, m.membership_strength, m.tie_signal_types,
               {"f.is_enforced, f.is_confirmed_bad," if features else ""}
               {"r.risk_score, r.risk_band," if risk else ""}
               {"".join(f"m.{c}, " for c in extra)} m.syndicate_id
        from {SELLER_SYNDICATES} as m
        {f"left join {SELLER_FEATURES} as f on m.seller_id = f.seller_id" if features else ""}
        {f"left join {SELLER_RISK_SCORES} as r on m.seller_id = r.seller_id" if risk else ""}
        where m.syndicate_id = ?
        order by m.membership_strength desc nulls last, m.seller_id
        """,
        [syndicate_id],
    )


_MEMBER_BASE = ("seller_id", "syndicate_id", "membership_strength", "tie_signal_types")


def syndicate(wh: Warehouse, syndicate_id: str) -> dict | None:
    """One syndicate's row with every column the detector publishes (e.g. its shape and the
    hashed identifiers that bind it, where it has them); None when absent."""
    if not has_relation(wh, SYNDICATES):
        return None
    frame = query(wh, f"select * from {SYNDICATES} where syndicate_id = ?", [syndicate_id])
    return None if frame.empty else frame.iloc[0].to_dict()


def relation_columns(wh: Warehouse, relation: str) -> list[str]:
    """Column names of a relation, in order."""
    schema, name = relation.split(".", 1)
    frame = query(
        wh,
        """
        select column_name from information_schema.columns
        where table_schema = ? and table_name = ?
        order by ordinal_position
        """,
        [schema, name],
    )
    return list(frame["column_name"])


# --- seller case ---------------------------------------------------------------------------------
def seller_profile(wh: Warehouse, seller_id: str) -> dict | None:
    """A seller's features, risk score and syndicate membership as one dict; None for an
    unknown seller (or without seller_features)."""
    if not has_relation(wh, SELLER_FEATURES):
        return None
    frame = query(wh, f"select * from {SELLER_FEATURES} where seller_id = ?", [seller_id])
    if frame.empty:
        return None
    profile = frame.iloc[0].to_dict()
    for relation in (SELLER_RISK_SCORES, SELLER_SYNDICATES):
        if has_relation(wh, relation):
            found = query(wh, f"select * from {relation} where seller_id = ?", [seller_id])
            if not found.empty:
                profile |= {k: v for k, v in found.iloc[0].to_dict().items() if k != "seller_id"}
    return profile


def seller_events(wh: Warehouse, seller_id: str) -> pd.DataFrame | None:
    """The seller's case timeline (seller_case_events) with its listings' creation as events,
    newest first; None without seller_case_events."""
    if not has_relation(wh, SELLER_CASE_EVENTS):
        return None
    events = query(
        wh,
        f"""
        select event_at, event_type, event_id, target_type, target_id, strategy_id,
               policy_code, event_detail, outcome, related_id
        from {SELLER_CASE_EVENTS}
        where seller_id = ?
        """,
        [seller_id],
    )
    if has_relation(wh, LISTING_OUTCOMES):
        listings = query(
            wh,
            f"""
            select created_at as event_at, 'listing_created' as event_type,
                   listing_id as event_id, 'listing' as target_type, listing_id as target_id,
                   cast(null as varchar) as strategy_id, cast(null as varchar) as policy_code,
                   category as event_detail,
                   case
                       when is_violation_within_7d and is_low_quality_within_7d
                           then 'violation and low quality within 7 days'
                       when is_violation_within_7d then 'violation within 7 days'
                       when is_low_quality_within_7d then 'low quality within 7 days'
                       when is_mature then 'no action within 7 days'
                       else 'window still open'
                   end as outcome,
                   cast(null as varchar) as related_id
            from {LISTING_OUTCOMES}
            where seller_id = ?
            """,
            [seller_id],
        )
        events = pd.concat([events, listings], ignore_index=True)
    return events.sort_values(["event_at", "event_type"], ascending=False, ignore_index=True)


def feature_descriptions(wh: Warehouse) -> dict[str, str]:
    """The documented meaning of each seller_features column (its comment in the warehouse)
    and of each feature the risk model computes from them (``tenure_band``)."""
    schema, name = SELLER_FEATURES.split(".", 1)
    frame = query(
        wh,
        """
        select column_name, comment from duckdb_columns()
        where schema_name = ? and table_name = ? and comment is not null
        """,
        [schema, name],
    )
    # Imported here: the detection package loads scikit-learn, which no other page needs.
    from governance.detection.risk_features import DERIVED_FEATURE_MEANINGS

    documented = dict(zip(frame["column_name"], frame["comment"], strict=True))
    return {**documented, **DERIVED_FEATURE_MEANINGS}


def riskiest_unenforced_sellers(wh: Warehouse, limit: int = 50) -> pd.DataFrame | None:
    """Sellers with the highest risk score and no counted suspension or ban yet."""
    if not (has_relation(wh, SELLER_RISK_SCORES) and has_relation(wh, SELLER_FEATURES)):
        return None
    return query(
        wh,
        f"""
        select r.seller_id, r.risk_score, r.risk_band
        from {SELLER_RISK_SCORES} as r
        inner join {SELLER_FEATURES} as f on r.seller_id = f.seller_id
        where not f.is_enforced
        order by r.risk_score desc, r.seller_id
        limit {int(limit)}
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
def relation_row_counts(wh: Warehouse, schemas: Sequence[str] = COUNTED_SCHEMAS) -> pd.DataFrame:
    """Row count of every table and view in `schemas`.

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


def build_results(wh: Warehouse) -> pd.DataFrame | None:
    """The test and validation results of the build that published this warehouse
    (governance.build_results), or None when it recorded none."""
    from governance import build_results as recorded

    try:
        con = duckdb.connect(str(wh.path), read_only=True)
    except duckdb.IOException as exc:
        raise WarehouseUnavailable(f"Cannot open {wh.path} read-only ({exc}).") from exc
    try:
        return recorded.read(con)
    finally:
        con.close()


def nightly_report(wh: Warehouse) -> dict | None:
    """The report of the last published night, kept beside the warehouse, if any."""
    from governance.nightly import read_report

    return read_report(Path(wh.path))


def validation_summary(wh: Warehouse) -> dict | None:
    """The last `governance validate` result stored beside the warehouse, if any."""
    from governance.quality import read_validation_state

    state = read_validation_state(wh.path)
    return state.get("last_run") if state else None
