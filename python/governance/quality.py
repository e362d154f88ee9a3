"""Expectation suites over the published warehouse, run as Great Expectations checkpoints.

The suites are defined in code (`build_suites`). Tables are read from the published DuckDB file
with a short-lived read-only connection and validated as pandas batches (GX's SQL datasource on
DuckDB cannot be used: it reads rows after closing the connection). Only aggregated or
seller-grain published tables are loaded, and only the columns a suite checks, so the run
stays cheap at the large tier.

Every expectation carries ``meta.severity``: a failing ``critical`` expectation fails the run
(non-zero exit code) with a message naming the table, the column(s) and the expectation;
``warning`` failures are reported but do not fail the run.

Row counts of the last passing run are kept in a small JSON file beside the warehouse
(``<warehouse>.validation.json``); the next run warns when a table's row count moved by more
than the tolerance. Data Docs (HTML) are written to ``target/gx_data_docs/`` by default: pages
rendered from the results by governance.data_docs, which work with no network (Great
Expectations' own pages load their index and icons from CDNs).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from governance import data_docs, settings
from governance.publish import REPORTING_DATE_SQL
from governance.severity import SEVERITY_LEVELS

CRITICAL = "critical"
WARNING = "warning"

#: Default maximum relative change of a table's row count between two validation runs.
ROW_COUNT_TOLERANCE = 0.25
#: Trailing days (ending on the reporting date) that must each have a row for every metric.
RECENT_DAYS = 14
#: Validation result pages kept per suite in the Data Docs folder (older runs are pruned).
DATA_DOCS_KEEP_RUNS = 14

ALL = "ALL"
METRICS_DAILY_KEY = ["metric_name", "metric_date", "region", "category"]
SELLER_TYPES = ["individual", "business"]
SELLER_SHARE_COLUMNS = ["listing_violation_share", "low_quality_share", "refund_share"]
SELLER_COUNT_COLUMNS = ["n_listings", "n_violation_listings", "n_orders", "n_complaints"]


class ValidationError(RuntimeError):
    """The warehouse cannot be validated (missing file or table)."""


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result, with what a reader needs to find a problem."""

    table: str
    columns: tuple[str, ...]
    expectation: str
    severity: str
    rule: str
    detail: str
    passed: bool = False

    def message(self) -> str:
        where = f"{self.table}.{'/'.join(self.columns)}" if self.columns else self.table
        return f"{where}: {self.expectation} failed ({self.rule}): {self.detail}"


@dataclass
class ValidationResult:
    """Outcome of `run_checkpoint`; ``success`` is False when a critical expectation failed."""

    success: bool
    critical_failures: list[ExpectationOutcome]
    warnings: list[ExpectationOutcome]
    n_expectations: int
    row_counts: dict[str, int]
    notes: list[str] = field(default_factory=list)
    data_docs_index: Path | None = None
    validated_at: str = ""
    #: Every expectation's result, passed ones included (the failures are also above).
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    #: The warehouse validated and the build that published it (governance.build_results).
    warehouse: str = ""
    build_id: str | None = None

    @property
    def exit_code(self) -> int:
        return 0 if self.success else 1

    def report(self) -> str:
        lines = [
            f"Validated {', '.join(f'{t} ({n:,} rows)' for t, n in self.row_counts.items())}: "
            f"{self.n_expectations} expectations, {len(self.critical_failures)} critical "
            f"failure(s), {len(self.warnings)} warning(s)."
        ]
        lines += [f"CRITICAL {f.message()}" for f in self.critical_failures]
        lines += [f"WARNING {w.message()}" for w in self.warnings]
        lines += [f"note: {n}" for n in self.notes]
        if self.data_docs_index is not None:
            lines.append(f"Data Docs: {self.data_docs_index}")
        lines.append("Validation passed." if self.success else "Validation FAILED.")
        return "\n".join(lines)


# --- state beside the warehouse --------------------------------------------------------------
def validation_state_path(duckdb_path: Path | str) -> Path:
    """``<folder>/<warehouse name>.validation.json`` beside the warehouse file."""
    path = Path(duckdb_path)
    return path.with_name(f"{path.stem}.validation.json")


def read_validation_state(duckdb_path: Path | str, state_path: Path | None = None) -> dict:
    """The stored state (empty when absent or unreadable): last run and baseline row counts."""
    source = Path(state_path) if state_path is not None else validation_state_path(duckdb_path)
    try:
        return json.loads(source.read_text())
    except (OSError, ValueError):
        return {}


def default_data_docs_dir() -> Path:
    return settings.project_dir() / "target" / "gx_data_docs"


# --- loading the published tables --------------------------------------------------------------
@dataclass
class Batch:
    """A table (or a derived frame over published tables) and the suite that checks it."""

    name: str
    frame: pd.DataFrame
    expectations: list[Any]
    key: list[str] = field(default_factory=list)  # identifies failing rows in messages


def _read(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def load_tables(duckdb_path: Path, recent_days: int = RECENT_DAYS) -> dict[str, pd.DataFrame]:
    """Read the published tables the suites check (only their columns), read-only."""
    path = Path(duckdb_path)
    if not path.is_file():
        raise ValidationError(f"No warehouse at {path}: build it first (`governance build`).")
    seller_columns = [
        "seller_id",
        "region",
        "primary_category",
        "seller_type",
        "is_confirmed_bad",
        *SELLER_SHARE_COLUMNS,
        *SELLER_COUNT_COLUMNS,
    ]
    anomaly_columns = [
        *METRICS_DAILY_KEY,
        "is_anomaly",
        "direction",
        "severity",
        "p_value",
        "q_value",
        "method",
    ]
    queries = {
        "metric_definitions": "select metric_name from reference.metric_definitions",
        "regions": "select region_code from reference.regions",
        "categories": "select category_code from reference.categories",
        "as_of_date": REPORTING_DATE_SQL,
        "metrics_daily": "select * from metrics.metrics_daily",
        "seller_features": f"select {', '.join(seller_columns)} from detection.seller_features",
        "metric_anomalies": f"select {', '.join(anomaly_columns)} from detection.metric_anomalies",
    }
    frames: dict[str, pd.DataFrame] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for name, sql in queries.items():
            try:
                frames[name] = _read(con, sql)
            except duckdb.CatalogException as exc:
                first = str(exc).splitlines()[0]
                raise ValidationError(
                    f"{path} has no table needed for `{name}` ({first}): run a full build."
                ) from exc
        frames["metrics_daily__recent_days"] = _read(
            con,
            f"""
            with days as (
                select cast(d as date) as metric_date
                from range(
                    cast(? as date) - interval {int(recent_days) - 1} day,
                    cast(? as date) + interval 1 day,
                    interval 1 day
                ) as t (d)
            )
            select m.metric_name, days.metric_date, t.denominator, t.value
            from reference.metric_definitions as m
            cross join days
            left join metrics.metrics_daily as t
                on t.metric_name = m.metric_name and t.metric_date = days.metric_date
                and t.region = '{ALL}' and t.category = '{ALL}'
            order by m.metric_name, days.metric_date
            """,
            [frames["as_of_date"]["as_of_date"].iloc[0]] * 2,
        )
    return frames


def expected_grid_rows(metrics_daily: pd.DataFrame, n_regions: int, n_categories: int) -> int:
    """Rows of a complete grid: each metric's days (first to last) × (regions + ALL) ×
    (categories + ALL)."""
    if metrics_daily.empty:
        return 0
    spans = metrics_daily.groupby("metric_name")["metric_date"].agg(["min", "max"])
    days = int(((spans["max"] - spans["min"]).dt.days + 1).sum())
    return days * (n_regions + 1) * (n_categories + 1)


# --- suites ------------------------------------------------------------------------------------
def build_suites(
    frames: dict[str, pd.DataFrame],
    previous_counts: dict[str, int] | None = None,
    row_count_tolerance: float = ROW_COUNT_TOLERANCE,
) -> tuple[list[Batch], list[str]]:
    """The batches to validate and their expectations (GX objects), plus notes on skipped checks."""
    rules = _Rules(previous_counts, row_count_tolerance)
    codes = _ReferenceCodes(
        metrics=sorted(frames["metric_definitions"]["metric_name"]),
        regions=sorted(frames["regions"]["region_code"]),
        categories=sorted(frames["categories"]["category_code"]),
    )
    daily = frames["metrics_daily"]
    batches = [
        Batch("metrics_daily", daily, _metrics_daily_suite(rules, codes, daily), METRICS_DAILY_KEY),
        Batch(
            "metrics_daily__recent_days",
            frames["metrics_daily__recent_days"],
            _recent_days_suite(rules),
            ["metric_name", "metric_date"],
        ),
        Batch(
            "seller_features", frames["seller_features"], _seller_suite(rules, codes), ["seller_id"]
        ),
        Batch(
            "metric_anomalies",
            frames["metric_anomalies"],
            _anomaly_suite(rules, codes),
            METRICS_DAILY_KEY,
        ),
    ]
    return batches, rules.notes


@dataclass(frozen=True)
class _ReferenceCodes:
    """The codes of the reference tables (segments without the ``ALL`` roll-up)."""

    metrics: list[str]
    regions: list[str]
    categories: list[str]


class _Rules:
    """Builds expectations that carry their rule and severity (``meta.severity``); collects
    notes on the checks it could not make."""

    def __init__(self, previous_counts: dict[str, int] | None, row_count_tolerance: float):
        import great_expectations.expectations as gxe

        self.gxe = gxe
        self.previous_counts = previous_counts or {}
        self.row_count_tolerance = row_count_tolerance
        self.notes: list[str] = []

    def expect(self, cls: Callable, severity: str, rule: str, **kwargs: Any) -> Any:
        return cls(description=rule, meta={"severity": severity}, **kwargs)

    def not_null(self, columns: list[str], severity: str = CRITICAL) -> list[Any]:
        return [
            self.expect(
                self.gxe.ExpectColumnValuesToNotBeNull, severity, f"{c} is never null", column=c
            )
            for c in columns
        ]

    def unit_interval(self, columns: list[str]) -> list[Any]:
        return [
            self.expect(
                self.gxe.ExpectColumnValuesToBeBetween,
                CRITICAL,
                f"{c} is a rate within [0, 1]",
                column=c,
                min_value=0,
                max_value=1,
            )
            for c in columns
        ]

    def non_negative_count(self, column: str) -> Any:
        return self.expect(
            self.gxe.ExpectColumnValuesToBeBetween,
            CRITICAL,
            f"{column} is a non-negative count",
            column=column,
            min_value=0,
        )

    def in_set(self, column: str, values: list[str], what: str) -> Any:
        return self.expect(
            self.gxe.ExpectColumnValuesToBeInSet,
            CRITICAL,
            f"{column} is one of the {what}",
            column=column,
            value_set=values,
        )

    def at_most(self, small: str, large: str, rule: str) -> Any:
        return self.expect(
            self.gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            CRITICAL,
            rule,
            column_A=large,
            column_B=small,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        )

    def one_row_per_series_day(self) -> Any:
        return self.expect(
            self.gxe.ExpectCompoundColumnsToBeUnique,
            CRITICAL,
            "one row per metric, day, region and category",
            column_list=METRICS_DAILY_KEY,
        )

    def segment_codes(self, codes: _ReferenceCodes) -> list[Any]:
        """Metric, region and category codes of a metric series (segments may be ``ALL``)."""
        return [
            self.in_set("metric_name", codes.metrics, "metrics of reference.metric_definitions"),
            self.in_set(
                "region", [*codes.regions, ALL], "region codes of reference.regions or ALL"
            ),
            self.in_set(
                "category",
                [*codes.categories, ALL],
                "category codes of reference.categories or ALL",
            ),
        ]

    def row_count_change(self, table: str) -> list[Any]:
        previous = self.previous_counts.get(table)
        if not previous:
            self.notes.append(f"{table}: no previous validation run, row-count change not checked")
            return []
        tolerance = self.row_count_tolerance
        return [
            self.expect(
                self.gxe.ExpectTableRowCountToBeBetween,
                WARNING,
                f"row count within ±{tolerance:.0%} of the last passing run ({previous:,} rows)",
                min_value=math.floor(previous * (1 - tolerance)),
                max_value=math.ceil(previous * (1 + tolerance)),
            )
        ]


def _metrics_daily_suite(rules: _Rules, codes: _ReferenceCodes, daily: pd.DataFrame) -> list:
    grid_rows = expected_grid_rows(daily, len(codes.regions), len(codes.categories))
    return [
        *rules.not_null(
            [*METRICS_DAILY_KEY, "numerator", "denominator", "is_mature", "is_complete"]
        ),
        rules.one_row_per_series_day(),
        *rules.segment_codes(codes),
        rules.expect(
            rules.gxe.ExpectTableRowCountToEqual,
            CRITICAL,
            "complete date × segment grid: every day from each metric's first to last day "
            f"for every region × category incl. ALL ({grid_rows:,} rows)",
            value=grid_rows,
        ),
        *rules.unit_interval(["value", "ci_lower", "ci_upper"]),
        rules.at_most("ci_lower", "value", "ci_lower ≤ value (Wilson lower bound)"),
        rules.at_most("value", "ci_upper", "value ≤ ci_upper (Wilson upper bound)"),
        rules.at_most("numerator", "denominator", "numerator ≤ denominator"),
        rules.non_negative_count("numerator"),
        *rules.row_count_change("metrics_daily"),
    ]


def _recent_days_suite(rules: _Rules) -> list:
    return [
        rules.expect(
            rules.gxe.ExpectColumnValuesToNotBeNull,
            CRITICAL,
            f"no gaps in recent days: each of the last {RECENT_DAYS} days up to the reporting "
            "date has an ALL × ALL row for every metric",
            column="denominator",
        ),
        rules.expect(
            rules.gxe.ExpectColumnValuesToBeBetween,
            WARNING,
            f"each of the last {RECENT_DAYS} days has volume (denominator ≥ 1) for every metric",
            column="denominator",
            min_value=1,
        ),
    ]


def _seller_suite(rules: _Rules, codes: _ReferenceCodes) -> list:
    return [
        *rules.not_null(["seller_id", "region", "seller_type"]),
        rules.expect(
            rules.gxe.ExpectColumnValuesToBeUnique,
            CRITICAL,
            "one row per seller",
            column="seller_id",
        ),
        rules.in_set("region", codes.regions, "region codes of reference.regions"),
        rules.in_set(
            "primary_category", codes.categories, "category codes of reference.categories"
        ),
        rules.in_set("seller_type", SELLER_TYPES, "seller types"),
        *rules.unit_interval(SELLER_SHARE_COLUMNS),
        *[rules.non_negative_count(c) for c in SELLER_COUNT_COLUMNS],
        rules.at_most("n_violation_listings", "n_listings", "violating listings ≤ listings"),
        *rules.not_null(["is_confirmed_bad"], WARNING),
        *rules.row_count_change("seller_features"),
    ]


def _anomaly_suite(rules: _Rules, codes: _ReferenceCodes) -> list:
    return [
        *rules.not_null([*METRICS_DAILY_KEY, "is_anomaly"]),
        rules.one_row_per_series_day(),
        *rules.segment_codes(codes),
        rules.in_set("direction", ["up", "down"], "directions up/down (null when not flagged)"),
        rules.in_set("severity", list(SEVERITY_LEVELS), "severities " + "/".join(SEVERITY_LEVELS)),
        *rules.unit_interval(["p_value", "q_value"]),
        rules.at_most("p_value", "q_value", "p_value ≤ q_value (Benjamini-Hochberg adjustment)"),
        *rules.not_null(["method"], WARNING),
        *rules.row_count_change("metric_anomalies"),
    ]


# --- running -----------------------------------------------------------------------------------
def import_great_expectations():
    """The ``great_expectations`` module, imported with its usage statistics off. Optional
    integrations GX probes on import warn about our pins (e.g. pyspark about pandas 3); they are
    not used here, and their warnings are not shown."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import great_expectations as gx

    return gx


def _context(gx):
    """An in-memory context without Data Docs sites (governance.data_docs renders them)."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for site in list(context.get_config().data_docs_sites or {}):
        context.delete_data_docs_site(site)
    return context


def _columns(kwargs: dict) -> tuple[str, ...]:
    if "column" in kwargs:
        return (kwargs["column"],)
    if "column_A" in kwargs:
        return (kwargs["column_A"], kwargs["column_B"])
    return tuple(kwargs.get("column_list") or ())


def _detail(result: Any, n_rows: int, key: list[str]) -> str:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return f"raised {info.get('exception_message')}"
    outcome = result.result or {}
    if "unexpected_count" in outcome:
        rows = outcome.get("partial_unexpected_index_list") or []
        if rows and isinstance(rows[0], dict):
            ordered = [{**{k: row[k] for k in key if k in row}, **row} for row in rows[:3]]
            shown = "; ".join(
                ", ".join(f"{k}={_plain(v)}" for k, v in row.items()) for row in ordered
            )
        else:
            sample = outcome.get("partial_unexpected_list") or []
            shown = ", ".join(str(_plain(v)) for v in sample[:3])
        count = outcome["unexpected_count"]
        total = outcome.get("element_count", n_rows)
        return f"{count:,} of {total:,} rows unexpected" + (f", e.g. [{shown}]" if shown else "")
    if "observed_value" in outcome:
        return f"observed {_plain(outcome['observed_value'])}"
    return "failed"


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return tuple(_plain(v) for v in value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat() if value != value.normalize() else value.date().isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def run_checkpoint(
    duckdb_path: Path | str | None = None,
    *,
    data_docs_dir: Path | str | None = None,
    state_path: Path | str | None = None,
    update_state: bool = True,
    row_count_tolerance: float = ROW_COUNT_TOLERANCE,
    build_data_docs: bool = True,
) -> ValidationResult:
    """Validate the published warehouse: one GX checkpoint per table, results classified.

    ``state_path`` (default beside the warehouse) holds the row counts of the last passing run;
    they are updated when this run passes and ``update_state`` is true. Data Docs are written
    to ``data_docs_dir`` (default target/gx_data_docs) unless ``build_data_docs`` is false.
    """
    path = Path(duckdb_path or settings.duckdb_path())
    state_file = Path(state_path) if state_path is not None else validation_state_path(path)
    docs_dir = None
    if build_data_docs:
        docs_dir = Path(data_docs_dir) if data_docs_dir is not None else default_data_docs_dir()
        docs_dir.mkdir(parents=True, exist_ok=True)

    frames = load_tables(path)
    from governance.build_results import build_id

    validated_build = build_id(path)
    state = read_validation_state(path, state_file)
    with warnings.catch_warnings():
        # Optional integrations GX probes on import warn about our pins (e.g. pyspark about
        # pandas 3); they are not used here.
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import_great_expectations()
        baseline = state.get("baseline_row_counts")
        batches, notes = build_suites(frames, baseline, row_count_tolerance)
        result = _validate(batches, notes)
    result.warehouse = str(path)
    result.build_id = validated_build
    if docs_dir is not None:
        result.data_docs_index = data_docs.write_run(
            docs_dir, _data_docs_run(result, batches), keep=DATA_DOCS_KEEP_RUNS
        )
    if update_state:
        write_validation_state(state_file, state, result)
    return result


def _data_docs_run(result: ValidationResult, batches: list[Batch]) -> dict:
    """A run's results as governance.data_docs stores and renders them."""
    validated = datetime.fromisoformat(result.validated_at)
    suites = [
        {
            "name": batch.name,
            "rows": len(batch.frame),
            "expectations": [_outcome_dict(o) for o in result.outcomes if o.table == batch.name],
        }
        for batch in batches
    ]
    return {
        "run_id": f"{validated:%Y%m%dT%H%M%S}Z",
        "validated_at": result.validated_at,
        "warehouse": result.warehouse,
        "build_id": result.build_id,
        "success": result.success,
        "suites": suites,
    }


def _outcome_dict(outcome: ExpectationOutcome) -> dict:
    return {**asdict(outcome), "columns": list(outcome.columns)}


def _validate(batches: list[Batch], notes: list[str]) -> ValidationResult:
    gx = import_great_expectations()
    context = _context(gx)
    source = context.data_sources.add_pandas("published_warehouse")
    critical: list[ExpectationOutcome] = []
    warned: list[ExpectationOutcome] = []
    outcomes: list[ExpectationOutcome] = []
    for batch in batches:
        asset = source.add_dataframe_asset(batch.name)
        definition = asset.add_batch_definition_whole_dataframe("published")
        suite = context.suites.add(gx.ExpectationSuite(name=batch.name))
        for expectation in batch.expectations:
            suite.add_expectation(expectation)
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=batch.name, data=definition, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"published_warehouse__{batch.name}",
                validation_definitions=[validation],
                actions=[],
                result_format={
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": 3,
                    "unexpected_index_column_names": batch.key,
                },
            )
        )
        outcome = checkpoint.run(batch_parameters={"dataframe": batch.frame})
        for run in outcome.run_results.values():
            for result in run.results:
                config = result.expectation_config
                severity = (config.meta or {}).get("severity", CRITICAL)
                judged = ExpectationOutcome(
                    table=batch.name,
                    columns=_columns(config.kwargs),
                    expectation=config.type,
                    severity=severity,
                    rule=config.description or "",
                    detail=_detail(result, len(batch.frame), batch.key),
                    passed=bool(result.success),
                )
                outcomes.append(judged)
                if not judged.passed:
                    (critical if severity == CRITICAL else warned).append(judged)

    counts = {b.name: len(b.frame) for b in batches if not b.name.endswith("__recent_days")}
    return ValidationResult(
        success=not critical,
        critical_failures=critical,
        warnings=warned,
        n_expectations=len(outcomes),
        row_counts=counts,
        notes=notes,
        validated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        outcomes=outcomes,
    )


def write_validation_state(state_file: Path, state: dict, result: ValidationResult) -> None:
    """Store this run's summary; its row counts become the baseline only when it passed."""
    summary = {
        "validated_at": result.validated_at,
        "success": result.success,
        "n_expectations": result.n_expectations,
        "tables": list(result.row_counts),
        "row_counts": result.row_counts,
        "critical_failures": [f.message() for f in result.critical_failures],
        "warnings": [w.message() for w in result.warnings],
        "failures": [asdict(f) for f in result.critical_failures + result.warnings],
        "expectations": [_outcome_dict(o) for o in result.outcomes],
        "warehouse": result.warehouse,
        "build_id": result.build_id,
        "data_docs": str(result.data_docs_index) if result.data_docs_index else None,
    }
    new_state = {**state, "last_run": summary}
    if result.success:
        new_state["baseline_row_counts"] = result.row_counts
        new_state["baseline_validated_at"] = result.validated_at
    state_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = state_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(new_state, indent=2, default=str) + "\n")
    tmp.replace(state_file)
