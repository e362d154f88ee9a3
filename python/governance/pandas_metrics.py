"""The whole ``metrics_daily`` table computed with pandas from the raw Parquet files.

This is the warehouse's peer in the benchmark (``governance.bench``): the same table from the
same files, written the way a competent analyst would write it from the metric glossary
(``models/marts/governance/_metric_glossary__docs.md``) in a notebook, and checked equal to the
warehouse's table row for row (:func:`compare_with_warehouse`). It is meant to be fast:

* reads only the columns the metrics need, with pyarrow, into pyarrow-backed strings;
* keeps each record's latest version (staging's rule: last arrived night, then last file, then
  last row in the file) and finds the rows a key names in another table with one
  ``pandas.factorize`` over both key columns instead of a merge of wide frames;
* counts cohort members and hits per day, region and category with ``numpy.bincount`` into a
  dense cube, from which the ``ALL`` roll-ups, the Wilson interval and maturity follow;
* marks a cohort day before the first event day of the source its metric counts incomplete.

What it leaves out, on purpose: the row-level quarantine of the raw-data contract (typing,
code lists, timestamp bounds, orphan keys, PII hashing, row lineage). On files that keep the
contract no row is quarantined and the figures are the same; the benchmark checks the two tables
equal on every run and records how many raw rows the warehouse quarantined.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from governance import metric_registry, settings

KEY_COLUMNS = ["metric_date", "metric_name", "region", "category"]
COLUMNS = [
    *KEY_COLUMNS,
    "numerator",
    "denominator",
    "value",
    "ci_lower",
    "ci_upper",
    "is_mature",
    "is_complete",
]
EXACT_COLUMNS = ["numerator", "denominator", "is_mature", "is_complete"]
FLOAT_COLUMNS = ["value", "ci_lower", "ci_upper"]
ALL = "ALL"

# The date in a raw file's name that says which night it arrived (staging's raw_row_lineage).
ARRIVED_NIGHT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[^/\\]*$")

# The raw columns each metric reads, per raw table: (record key, other columns).
RAW_COLUMNS = {
    "sellers": ("seller_id", ["onboarded_at", "region", "primary_category"]),
    "listings": ("listing_id", ["seller_id", "created_at", "category"]),
    "enforcement_actions": (
        "action_id",
        ["target_type", "target_id", "action_type", "policy_code", "acted_at"],
    ),
    "appeals": ("appeal_id", ["action_id", "filed_at", "resolved_at", "outcome"]),
    "qa_case_checks": (
        "check_id",
        ["target_type", "target_id", "sample_type", "checked_at", "is_violation"],
    ),
    "orders": ("order_id", ["listing_id", "ordered_at", "order_status", "gmv_usd"]),
    "complaints": ("complaint_id", ["order_id", "created_at"]),
}
# Each event source a metric can count (metric_definitions.outcome_source): its table here and
# the column whose first day starts its coverage (int_source_coverage).
SOURCE_EVENTS = {
    "sellers": ("sellers", "onboarded_at"),
    "listings": ("listings", "created_at"),
    "orders": ("orders", "ordered_at"),
    "complaints": ("complaints", "created_at"),
    "enforcement_actions": ("actions", "acted_at"),
    "appeals": ("appeals", "filed_at"),
    "qa_case_checks": ("checks", "checked_at"),
}
LISTING_ACTIONS = ("listing_takedown", "listing_limit")
SELLER_REMOVALS = ("seller_suspension", "seller_ban")
SERIOUS_SEVERITIES = ("high", "critical")


class PeerError(RuntimeError):
    """The warehouse's table holds something the pandas peer does not compute."""


# --------------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class Definitions:
    """What the metrics read from the project: the seeds, the metric registry's windows,
    maturities and counted sources, and the Wilson z of dbt_project.yml."""

    regions: list[str]
    categories: list[str]
    maturity_days: dict[str, int]
    window_days: dict[str, int]
    policy_is_low_quality: dict[str, bool]
    policy_severity: dict[str, str]
    wilson_z: float
    interval: dict[str, str]  # `wilson`, or `wilson_kish` for a ratio of sums
    outcome_source: dict[str, str]
    coverage_start: dict[str, date]  # the var source_coverage_start

    @classmethod
    def of_project(cls, project: Path | None = None) -> Definitions:
        project = Path(project or settings.project_dir())
        seeds = project / "seeds"
        policies = pd.read_csv(seeds / "policies.csv", dtype=str)
        registry = metric_registry.load(project)
        variables = yaml.safe_load((project / "dbt_project.yml").read_text())["vars"]
        return cls(
            regions=pd.read_csv(seeds / "regions.csv", dtype=str)["region_code"].tolist(),
            categories=pd.read_csv(seeds / "categories.csv", dtype=str)["category_code"].tolist(),
            maturity_days={m.name: m.maturity_days for m in registry.metrics},
            window_days={m.name: m.window_days for m in registry.metrics},
            policy_is_low_quality=dict(
                zip(policies["policy_code"], policies["is_low_quality"] == "true", strict=True)
            ),
            policy_severity=dict(zip(policies["policy_code"], policies["severity"], strict=True)),
            wilson_z=float(variables["wilson_z"]),
            interval={m.name: m.interval for m in registry.metrics},
            outcome_source={m.name: m.outcome_source for m in registry.metrics},
            coverage_start={
                source: date.fromisoformat(str(day))
                for source, day in (variables.get("source_coverage_start") or {}).items()
            },
        )

    def window(self, metric_name: str) -> np.timedelta64:
        """The metric's outcome window: the days after the cohort event an outcome counts."""
        return np.timedelta64(int(self.window_days[metric_name]), "D")


# --------------------------------------------------------------------------- reading


def _arrived_night(path: Path, ingest_night: date) -> date:
    found = ARRIVED_NIGHT.search(path.name)
    if found:
        try:
            return date.fromisoformat(found.group(1))
        except ValueError:
            pass
    return ingest_night


def raw_files_in_version_order(folder: Path, ingest_night: date | None = None) -> list[Path]:
    """The Parquet files of a raw table, oldest version first: by the night in the file name
    (the ingest night for a name without one), then by name."""
    if ingest_night is None:
        ingest_night = date.fromisoformat(
            os.environ.get(settings.INGEST_DATE_ENV) or datetime.now(UTC).date().isoformat()
        )
    files = Path(folder).glob("*.parquet")
    return sorted(files, key=lambda p: (_arrived_night(p, ingest_night), p.name))


def _naive_utc(part: pa.Table) -> pa.Table:
    """Time-zone-aware timestamp columns as naive UTC, as the contract reads naive ones."""
    for index, column in enumerate(part.schema):
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            naive = part.column(index).cast(pa.timestamp(column.type.unit))
            part = part.set_column(index, column.name, naive)
    return part


def read_raw(raw_dir: Path, table: str) -> pd.DataFrame:
    """The columns the metrics need of one raw table, rows in version order."""
    key, columns = RAW_COLUMNS[table]
    parts = [
        _naive_utc(pq.read_table(path, columns=[key, *columns]))
        for path in raw_files_in_version_order(Path(raw_dir) / table)
    ]
    return pa.concat_tables(parts, promote_options="default").to_pandas()


def latest_versions(
    frame: pd.DataFrame, key: str, lookups: tuple[pd.Series, ...] = ()
) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """The latest version of each record of `frame` (rows in version order: the last row of a
    key wins; rows without a key dropped) and, per series of `lookups`, the row of the kept
    frame each of its keys names, -1 for none. One factorize of every key column at once."""
    keys = pd.concat([frame[key], *lookups], ignore_index=True)
    codes, uniques = pd.factorize(keys)
    own = codes[: len(frame)]
    keep = (own >= 0) & ~pd.Series(own).duplicated(keep="last").to_numpy()
    row_of_code = np.full(len(uniques) + 1, -1, dtype=np.int64)  # the extra slot: null keys
    row_of_code[own[keep]] = np.arange(int(keep.sum()))
    positions, start = [], len(frame)
    for lookup in lookups:
        looked_up = codes[start : start + len(lookup)]
        positions.append(row_of_code[looked_up])  # code -1 (null) reads the extra slot
        start += len(lookup)
    latest = frame if keep.all() else frame[keep].reset_index(drop=True)
    return latest, positions


# --------------------------------------------------------------------------- cohorts


@dataclass
class Cohort:
    """The members of one metric's cohort: their day, segment codes, whether they hit and, for
    a ratio of sums, their amounts (None: each member counts 1)."""

    days: np.ndarray  # days since 1970-01-01
    regions: np.ndarray  # index into Definitions.regions; len(regions) = unknown
    categories: np.ndarray  # index into Definitions.categories; len(categories) = unknown
    hits: np.ndarray  # bool
    amounts: np.ndarray | None = None  # float64 whole units (US cents)
    clusters: np.ndarray | None = None  # int64: members that share their outcome; -1 for none


def _epoch_days(timestamps: pd.Series) -> np.ndarray:
    return timestamps.to_numpy().astype("datetime64[D]").astype(np.int64)


def _codes(values: pd.Series, known: list[str]) -> np.ndarray:
    """Index of each value in `known`, len(known) for an unknown or null value."""
    codes = pd.Index(known).get_indexer(values)
    return np.where(codes < 0, len(known), codes).astype(np.int16)


def _take(values: np.ndarray, positions: np.ndarray, missing: int) -> np.ndarray:
    return np.where(positions >= 0, values[positions], missing).astype(values.dtype)


def _within(start: np.ndarray, event: np.ndarray, window: np.timedelta64) -> np.ndarray:
    return (start <= event) & (event <= start + window)


def _mark(size: int, positions: np.ndarray) -> np.ndarray:
    marked = np.zeros(size, dtype=bool)
    marked[positions] = True
    return marked


@dataclass
class RawTables:
    """The raw tables the metrics read, latest versions only, with the row positions that join
    them."""

    sellers: pd.DataFrame
    listings: pd.DataFrame
    actions: pd.DataFrame
    appeals: pd.DataFrame
    checks: pd.DataFrame
    orders: pd.DataFrame
    complaints: pd.DataFrame
    positions: dict[str, np.ndarray]
    cutoff: np.datetime64  # the end of the reporting day
    as_of: date


def load(raw_dir: Path, as_of: date | None = None) -> RawTables:
    """Read the raw tables, keep the latest versions and join the keys (one factorize each)."""
    raw = {table: read_raw(raw_dir, table) for table in RAW_COLUMNS}
    appeals, _ = latest_versions(raw["appeals"], "appeal_id")
    actions, (appeal_action,) = latest_versions(
        raw["enforcement_actions"], "action_id", (appeals["action_id"],)
    )
    complaints, _ = latest_versions(raw["complaints"], "complaint_id")
    orders, (complaint_order,) = latest_versions(
        raw["orders"], "order_id", (complaints["order_id"],)
    )
    checks, _ = latest_versions(raw["qa_case_checks"], "check_id")
    listings, (order_listing, action_listing, check_listing) = latest_versions(
        raw["listings"],
        "listing_id",
        (orders["listing_id"], actions["target_id"], checks["target_id"]),
    )
    sellers, (listing_seller, action_seller) = latest_versions(
        raw["sellers"], "seller_id", (listings["seller_id"], actions["target_id"])
    )
    if as_of is None:
        env = os.environ.get(settings.AS_OF_DATE_ENV)
        as_of = date.fromisoformat(env) if env else listings["created_at"].max().date()
    return RawTables(
        sellers=sellers,
        listings=listings,
        actions=actions,
        appeals=appeals,
        checks=checks,
        orders=orders,
        complaints=complaints,
        positions={
            "appeal_action": appeal_action,
            "complaint_order": complaint_order,
            "order_listing": order_listing,
            "action_listing": action_listing,
            "check_listing": check_listing,
            "listing_seller": listing_seller,
            "action_seller": action_seller,
        },
        cutoff=np.datetime64(as_of, "us") + np.timedelta64(1, "D"),
        as_of=as_of,
    )


@dataclass
class Segments:
    """Region and category codes of every seller and listing."""

    seller_regions: np.ndarray
    seller_categories: np.ndarray
    listing_regions: np.ndarray
    listing_categories: np.ndarray
    unknown_region: int
    unknown_category: int

    @classmethod
    def of(cls, t: RawTables, d: Definitions) -> Segments:
        seller_regions = _codes(t.sellers["region"], d.regions)
        return cls(
            seller_regions=seller_regions,
            seller_categories=_codes(t.sellers["primary_category"], d.categories),
            listing_regions=_take(seller_regions, t.positions["listing_seller"], len(d.regions)),
            listing_categories=_codes(t.listings["category"], d.categories),
            unknown_region=len(d.regions),
            unknown_category=len(d.categories),
        )

    def of_listings(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (
            _take(self.listing_regions, positions, self.unknown_region),
            _take(self.listing_categories, positions, self.unknown_category),
        )

    def of_sellers(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (
            _take(self.seller_regions, positions, self.unknown_region),
            _take(self.seller_categories, positions, self.unknown_category),
        )


def counted_actions(t: RawTables) -> np.ndarray:
    """Actions taken up to the reporting day and not overturned by an appeal decided by then
    (int_enforcement_actions_resolved)."""
    appeals = t.appeals
    overturning = (
        (appeals["filed_at"] < t.cutoff)
        & (appeals["outcome"] == "overturned")
        & (appeals["resolved_at"] < t.cutoff)
    ).to_numpy()
    action_rows = t.positions["appeal_action"][overturning]
    overturned = _mark(len(t.actions), action_rows[action_rows >= 0])
    return (t.actions["acted_at"] < t.cutoff).to_numpy() & ~overturned


def _listing_hits(t: RawTables, d: Definitions, metric_name: str, low_quality: bool) -> np.ndarray:
    """Per listing row: a counted takedown or limit for a policy of the kind (`low_quality` or
    not) followed within the metric's window."""
    actions = t.actions
    is_low_quality = actions["policy_code"].map(d.policy_is_low_quality).to_numpy(dtype=object)
    listing_rows = t.positions["action_listing"]
    candidate = (
        counted_actions(t)
        & (actions["target_type"] == "listing").to_numpy()
        & actions["action_type"].isin(LISTING_ACTIONS).to_numpy()
        & (is_low_quality == low_quality)  # an unknown policy counts in neither metric
        & (listing_rows >= 0)
    )
    created = t.listings["created_at"].to_numpy()
    rows = listing_rows[candidate]
    hit = _within(created[rows], actions["acted_at"].to_numpy()[candidate], d.window(metric_name))
    return _mark(len(created), rows[hit])


def _listing_cohort(
    t: RawTables, d: Definitions, s: Segments, metric_name: str, low_quality: bool
) -> Cohort:
    """Listings by creation day, hit when a counted takedown or limit for a policy of the kind
    (`low_quality` or not) followed within the metric's window."""
    in_scope = (t.listings["created_at"] < t.cutoff).to_numpy()
    return Cohort(
        days=_epoch_days(t.listings["created_at"])[in_scope],
        regions=s.listing_regions[in_scope],
        categories=s.listing_categories[in_scope],
        hits=_listing_hits(t, d, metric_name, low_quality)[in_scope],
    )


def listing_violation_cohort(t: RawTables, d: Definitions, s: Segments) -> Cohort:
    """listing_violation_rate: a takedown or limit for a violation (not a quality policy)."""
    return _listing_cohort(t, d, s, "listing_violation_rate", low_quality=False)


def low_quality_listing_cohort(t: RawTables, d: Definitions, s: Segments) -> Cohort:
    """low_quality_listing_rate: a takedown or limit for a listing-quality policy."""
    return _listing_cohort(t, d, s, "low_quality_listing_rate", low_quality=True)


def seller_onboarding_cohort(t: RawTables, d: Definitions, s: Segments) -> Cohort:
    """bad_seller_onboarding_rate: sellers by onboarding day, hit when a counted suspension or
    ban for a high or critical policy followed within the window."""
    actions, sellers = t.actions, t.sellers
    seller_rows = t.positions["action_seller"]
    severity = actions["policy_code"].map(d.policy_severity)
    candidate = (
        counted_actions(t)
        & (actions["target_type"] == "seller").to_numpy()
        & actions["action_type"].isin(SELLER_REMOVALS).to_numpy()
        & severity.isin(SERIOUS_SEVERITIES).to_numpy()
        & (seller_rows >= 0)
    )
    onboarded = sellers["onboarded_at"].to_numpy()
    rows = seller_rows[candidate]
    hit = _within(
        onboarded[rows],
        actions["acted_at"].to_numpy()[candidate],
        d.window("bad_seller_onboarding_rate"),
    )
    in_scope = (sellers["onboarded_at"].notna() & (sellers["onboarded_at"] < t.cutoff)).to_numpy()
    return Cohort(
        days=_epoch_days(sellers["onboarded_at"])[in_scope],
        regions=s.seller_regions[in_scope],
        categories=s.seller_categories[in_scope],
        hits=_mark(len(sellers), rows[hit])[in_scope],
    )


def prevalence_cohort(t: RawTables, d: Definitions, s: Segments) -> Cohort:
    """violation_prevalence: random QA checks of listings by check day, hit when violating."""
    checks = t.checks
    in_scope = (
        (checks["sample_type"] == "random")
        & (checks["target_type"] == "listing")
        & (checks["checked_at"] < t.cutoff)
    ).to_numpy()
    regions, categories = s.of_listings(t.positions["check_listing"][in_scope])
    return Cohort(
        days=_epoch_days(checks["checked_at"])[in_scope],
        regions=regions,
        categories=categories,
        hits=checks["is_violation"].fillna(False).to_numpy(dtype=bool)[in_scope],
    )


def complaint_cohort(t: RawTables, d: Definitions, s: Segments) -> Cohort:
    """complaint_rate: completed orders by order day, hit when a complaint about the order was
    filed within the window."""
    orders, complaints = t.orders, t.complaints
    order_rows = t.positions["complaint_order"]
    filed = (complaints["created_at"] < t.cutoff).to_numpy() & (order_rows >= 0)
    rows = order_rows[filed]
    ordered = orders["ordered_at"].to_numpy()
    created = complaints["created_at"].to_numpy()[filed]
    hit = _within(ordered[rows], created, d.window("complaint_rate"))
    in_scope = _completed_orders(t)
    regions, categories = s.of_listings(t.positions["order_listing"][in_scope])
    return Cohort(
        days=_epoch_days(orders["ordered_at"])[in_scope],
        regions=regions,
        categories=categories,
        hits=_mark(len(orders), rows[hit])[in_scope],
    )


def _completed_orders(t: RawTables) -> np.ndarray:
    """Completed orders placed before the end of the reporting day."""
    orders = t.orders
    return ((orders["order_status"] == "completed") & (orders["ordered_at"] < t.cutoff)).to_numpy()


def _whole_cents(usd: pd.Series) -> np.ndarray:
    """US dollars as whole cents, halves away from zero (SQL's round); 0 for no amount."""
    cents = usd.to_numpy(dtype=np.float64, na_value=np.nan) * 100
    return np.nan_to_num(np.sign(cents) * np.floor(np.abs(cents) + 0.5), nan=0.0)


def violating_gmv_cohort(t: RawTables, d: Definitions, s: Segments) -> Cohort:
    """violating_gmv_share: the GMV (whole cents) of completed orders by order day, hit when the
    ordered listing (created by the reporting day) is a violating listing of
    listing_violation_rate; the orders of one listing share their outcome (one unit of the
    interval per day and segment)."""
    in_scope = _completed_orders(t)
    listing_rows = t.positions["order_listing"][in_scope]
    violating = (
        _listing_hits(t, d, "listing_violation_rate", low_quality=False)
        & (t.listings["created_at"] < t.cutoff).to_numpy()
    )
    regions, categories = s.of_listings(listing_rows)
    return Cohort(
        days=_epoch_days(t.orders["ordered_at"])[in_scope],
        regions=regions,
        categories=categories,
        hits=_take(violating, listing_rows, False),
        amounts=_whole_cents(t.orders["gmv_usd"])[in_scope],
        clusters=pd.factorize(t.orders["listing_id"])[0][in_scope].astype(np.int64),
    )


def appeal_cohort(t: RawTables, d: Definitions, s: Segments) -> Cohort:
    """appeal_overturn_rate: appeals by resolution day, hit when overturned; the segment of the
    appealed action's target (a listing's or a seller's)."""
    appeals = t.appeals
    in_scope = (appeals["resolved_at"].notna() & (appeals["resolved_at"] < t.cutoff)).to_numpy()
    action_rows = t.positions["appeal_action"][in_scope]
    target_type = _take(t.actions["target_type"].to_numpy(dtype=object), action_rows, None)
    on_listing = target_type == "listing"
    listing_rows = np.where(on_listing, _take(t.positions["action_listing"], action_rows, -1), -1)
    seller_rows = np.where(~on_listing, _take(t.positions["action_seller"], action_rows, -1), -1)
    listing_regions, listing_categories = s.of_listings(listing_rows)
    seller_regions, seller_categories = s.of_sellers(seller_rows)
    return Cohort(
        days=_epoch_days(appeals["resolved_at"])[in_scope],
        regions=np.where(on_listing, listing_regions, seller_regions),
        categories=np.where(on_listing, listing_categories, seller_categories),
        hits=(appeals["outcome"] == "overturned").to_numpy()[in_scope],
    )


# The metrics the peer computes and how, in the glossary's order: a metric of the warehouse's
# table that is not here stops the comparison (compare_with_warehouse).
COHORTS: dict[str, Callable[[RawTables, Definitions, Segments], Cohort]] = {
    "listing_violation_rate": listing_violation_cohort,
    "low_quality_listing_rate": low_quality_listing_cohort,
    "bad_seller_onboarding_rate": seller_onboarding_cohort,
    "violation_prevalence": prevalence_cohort,
    "complaint_rate": complaint_cohort,
    "appeal_overturn_rate": appeal_cohort,
    "violating_gmv_share": violating_gmv_cohort,
}
METRICS = tuple(COHORTS)


# --------------------------------------------------------------------------- the table


def daily_cube(cohort: Cohort, first_day: int, last_day: int, shape: tuple[int, int]):
    """Numerator, denominator and the sum of squared amounts per day, region and category (the
    last region and category index: unknown), then with the `ALL` roll-ups in the last index of
    each: a record with an unknown segment counts only in the roll-ups over it. A member adds
    its amount (1 without amounts)."""
    regions, categories = shape
    cube_shape = (last_day - first_day + 1, regions + 1, categories + 1)
    flat = np.ravel_multi_index(
        (cohort.days - first_day, cohort.regions, cohort.categories), cube_shape
    )
    size = int(np.prod(cube_shape))
    amounts = np.ones(len(cohort.days)) if cohort.amounts is None else cohort.amounts
    counts = []
    for weights in (np.where(cohort.hits, amounts, 0.0), amounts, None):
        if weights is None:
            cells, weights = _unit_squares(flat, amounts, cohort.clusters)
        else:
            cells = flat
        cube = np.bincount(cells, weights=weights, minlength=size).reshape(cube_shape)
        rolled = np.empty_like(cube, dtype=np.float64)
        rolled[:, :regions, :categories] = cube[:, :regions, :categories]
        rolled[:, :regions, categories] = cube[:, :regions, :].sum(axis=2)
        rolled[:, regions, :categories] = cube[:, :, :categories].sum(axis=1)
        rolled[:, regions, categories] = cube.sum(axis=(1, 2))
        counts.append(rolled)
    return counts


def _unit_squares(
    cells: np.ndarray, amounts: np.ndarray, clusters: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per unit of the interval, its cell (day and segment) and squared amount: a member is a
    unit, or the members of one cluster in one cell are (a member without a cluster is its own)."""
    if clusters is None:
        return cells, amounts * amounts
    own = np.arange(len(cells)) + int(clusters.max(initial=0)) + 1
    units = pd.DataFrame({"cell": cells, "unit": np.where(clusters >= 0, clusters, own)})
    sums = units.assign(amount=amounts).groupby(["cell", "unit"], sort=False)["amount"].sum()
    return sums.index.get_level_values("cell").to_numpy(), sums.to_numpy() ** 2


def effective_counts(
    numerator: np.ndarray, denominator: np.ndarray, sum_squares: np.ndarray, interval: str
) -> tuple[np.ndarray, np.ndarray]:
    """The counts the interval treats as binomial: the counts themselves (`wilson`), or for a
    ratio of sums (`wilson_kish`) the Kish effective sample size n = denominator² / Σ x² and
    value × n (the glossary's interval)."""
    if interval != "wilson_kish":
        return numerator, denominator
    with np.errstate(divide="ignore", invalid="ignore"):
        weighed = sum_squares > 0
        return (
            np.where(weighed, numerator * denominator / sum_squares, numerator),
            np.where(weighed, denominator * denominator / sum_squares, denominator),
        )


def wilson_bounds(numerator: np.ndarray, denominator: np.ndarray, z: float):
    """Wilson score interval of numerator / denominator (null for no trials; exactly 0 and 1 at
    the edges, clamped to [0, 1])."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = numerator / denominator
        centre = p + z * z / (2 * denominator)
        half = z * np.sqrt(p * (1 - p) / denominator + z * z / (4 * denominator * denominator))
        scale = 1 + z * z / denominator
        lower = np.where(numerator == 0, 0.0, np.maximum(0.0, (centre - half) / scale))
        upper = np.where(numerator == denominator, 1.0, np.minimum(1.0, (centre + half) / scale))
    empty = denominator == 0
    return np.where(empty, np.nan, lower), np.where(empty, np.nan, upper)


def metric_rows(metric_name: str, cohort: Cohort, t: RawTables, d: Definitions) -> pd.DataFrame:
    """The dense rows of one metric, from its first day to the reporting day."""
    if len(cohort.days) == 0:
        return pd.DataFrame(columns=COLUMNS)
    first_day = int(cohort.days.min())
    last_day = int(np.datetime64(t.as_of, "D").astype(np.int64))
    numerator, denominator, sum_squares = daily_cube(
        cohort, first_day, last_day, (len(d.regions), len(d.categories))
    )
    days, regions, categories = numerator.shape
    metric_date = (np.arange(first_day, last_day + 1)).astype("datetime64[D]")
    numerator, denominator = numerator.ravel(), denominator.ravel()
    trials = effective_counts(numerator, denominator, sum_squares.ravel(), d.interval[metric_name])
    lower, upper = wilson_bounds(*trials, d.wilson_z)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(denominator > 0, numerator / denominator, np.nan)
    maturity = np.timedelta64(int(d.maturity_days[metric_name]), "D")
    coverage = coverage_start(d.outcome_source[metric_name], t, d)
    complete = (
        metric_date >= np.datetime64(coverage, "D")
        if coverage is not None
        else np.zeros(days, dtype=bool)
    )
    return pd.DataFrame(
        {
            "metric_date": np.repeat(metric_date, regions * categories).astype("datetime64[s]"),
            "metric_name": metric_name,
            "region": np.tile(np.repeat([*d.regions, ALL], categories), days),
            "category": np.tile([*d.categories, ALL], days * regions),
            "numerator": numerator,
            "denominator": denominator,
            "value": value,
            "ci_lower": lower,
            "ci_upper": upper,
            "is_mature": np.repeat(
                metric_date + maturity <= np.datetime64(t.as_of, "D"), regions * categories
            ),
            "is_complete": np.repeat(complete, regions * categories),
        }
    )


def coverage_start(source: str, t: RawTables, d: Definitions) -> date | None:
    """The day `source`'s events begin: the var source_coverage_start for it, else its first
    event day; None for a source without events."""
    if source in d.coverage_start:
        return d.coverage_start[source]
    table, column = SOURCE_EVENTS[source]
    first = getattr(t, table)[column].min()
    return None if pd.isna(first) else pd.Timestamp(first).date()


def metrics_daily(
    raw_dir: Path, project: Path | None = None, as_of: date | None = None
) -> pd.DataFrame:
    """``metrics_daily`` from the raw Parquet folders of `raw_dir`: every metric of
    :data:`METRICS`, every day from its first to the reporting day (`as_of`, else
    GOVERNANCE_AS_OF_DATE, else the latest listing day) and every seed region and category
    with the ``ALL`` roll-ups, with the Wilson interval, maturity and completeness."""
    definitions = Definitions.of_project(project)
    tables = load(raw_dir, as_of)
    segments = Segments.of(tables, definitions)
    frames = [
        metric_rows(name, cohort_of(tables, definitions, segments), tables, definitions)
        for name, cohort_of in COHORTS.items()
    ]
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- the comparison


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[COLUMNS].copy()
    out["metric_date"] = pd.to_datetime(out["metric_date"]).astype("datetime64[s]")
    for column in ("metric_name", "region", "category"):
        out[column] = out[column].astype(str)
    for column in ("numerator", "denominator", *FLOAT_COLUMNS):
        out[column] = out[column].astype("float64")
    out["is_mature"] = out["is_mature"].astype("boolean")
    out["is_complete"] = out["is_complete"].astype("boolean")
    return out


def _rows_differ(merged: pd.DataFrame, rtol: float) -> pd.Series:
    differ = pd.Series(False, index=merged.index)
    for column in EXACT_COLUMNS:
        left, right = merged[f"{column}_pandas"], merged[f"{column}_warehouse"]
        differ |= (left != right).fillna(True) & ~(left.isna() & right.isna())
    for column in FLOAT_COLUMNS:
        left = merged[f"{column}_pandas"].to_numpy(dtype=np.float64)
        right = merged[f"{column}_warehouse"].to_numpy(dtype=np.float64)
        differ |= ~np.isclose(left, right, rtol=rtol, atol=1e-15, equal_nan=True)
    return differ


def compare_with_warehouse(
    peer: pd.DataFrame, warehouse: pd.DataFrame, rtol: float = 1e-9, examples: int = 5
) -> dict:
    """Row-for-row comparison of the peer's table with the warehouse's ``metrics_daily`` on the
    columns the peer computes (:data:`COLUMNS`; counts and maturity exactly, rates and
    intervals to `rtol`). Raises PeerError when the warehouse holds a metric the peer does not
    compute or lacks a compared column. Returns whether they matched, the row counts, the
    columns compared and left out, and the first mismatching rows."""
    unknown = sorted(set(warehouse["metric_name"].astype(str)) - set(METRICS))
    if unknown:
        raise PeerError(
            f"metrics_daily has metric(s) {', '.join(unknown)} that the pandas peer does not "
            "compute: add each to governance.pandas_metrics (COHORTS)"
        )
    missing = [c for c in COLUMNS if c not in warehouse.columns]
    if missing:
        raise PeerError(f"metrics_daily lacks column(s) {', '.join(missing)} the peer computes")
    merged = _normalised(peer).merge(
        _normalised(warehouse),
        on=KEY_COLUMNS,
        how="outer",
        suffixes=("_pandas", "_warehouse"),
        indicator=True,
    )
    both = merged["_merge"] == "both"
    differ = both & _rows_differ(merged, rtol)
    wrong = merged[differ | ~both].sort_values(KEY_COLUMNS).head(examples)
    wrong = wrong.astype({"metric_date": str}).astype(object).where(wrong.notna(), None)
    return {
        "matched": bool(both.all() and not differ.any()),
        "rows": int(len(warehouse)),
        "pandas_rows": int(len(peer)),
        "only_in_pandas": int((merged["_merge"] == "left_only").sum()),
        "only_in_warehouse": int((merged["_merge"] == "right_only").sum()),
        "mismatched_rows": int(differ.sum()),
        "metrics": sorted(set(peer["metric_name"].astype(str))),
        "compared_columns": COLUMNS,
        "not_compared_columns": [c for c in warehouse.columns if c not in COLUMNS],
        "first_differences": wrong.drop(columns="_merge").to_dict("records"),
    }
