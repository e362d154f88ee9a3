"""The warehouse as a BI tool sees it: the catalogue a read-only connection to the published file
lists (the consumer schemas only, every relation documented, no build internals, no hashed or raw
identity value), documented in docs/bi.md and the `bi_catalogue` exposure alike; integer counts;
labels and targets from the metric registry; and weekly rates that are ratios of summed counts."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from governance import metric_registry, settings
from governance.docs_site import PII_COLUMNS
from governance.publish import published_schemas

BI_DOC = settings.project_dir() / "docs" / "bi.md"
SEED = settings.project_dir() / "seeds" / "metric_definitions.csv"
Z = 1.959964
# Written at publish by the build itself, not dbt models (governance.build_results,
# governance.publish.renew_publication).
WRITTEN_AT_PUBLISH = {"monitoring.build_results", "monitoring.publication"}


def _section(title: str) -> str:
    text = BI_DOC.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def _relations(title: str) -> set[str]:
    """The relations in the first column of the tables of a section of docs/bi.md."""
    return set(re.findall(r"^\| `([a-z_]+\.[a-z_*]+)` \|", _section(title), re.M))


@pytest.fixture(scope="module")
def catalogue(built) -> pd.DataFrame:
    """Every relation a read-only connection to the published file sees, with its comment."""
    with duckdb.connect(str(built["published"]), read_only=True) as con:
        return con.execute(
            """
            select schema_name, schema_name || '.' || table_name as relation, comment
            from duckdb_tables()
            union all
            select schema_name, schema_name || '.' || view_name, comment from duckdb_views()
            where not internal
            """
        ).df()


def test_bi_doc_and_the_bi_catalogue_exposure_list_the_relations_to_read(built, catalogue):
    read, not_read = _relations("What to read"), _relations("What not to read")
    assert {"metrics.metric_rates", "metrics.metrics_daily", "metrics.metrics_by_period"} <= read
    seen = dict(zip(catalogue["relation"], catalogue["comment"], strict=True))
    # The reader sees the consumer schemas and exactly the relations to read, each documented
    # where the BI tool shows it; no build internal.
    assert (
        set(catalogue["schema_name"])
        == set(published_schemas())
        == {
            "metrics",
            "monitoring",
            "strategy",
            "detection",
            "semantic",
            "reference",
        }
    )
    assert set(seen) == read
    for relation in read:
        assert isinstance(seen[relation], str) and len(seen[relation]) > 20, relation
    assert {r.split(".")[0] for r in not_read} == {"staging", "intermediate"}
    with duckdb.connect(str(built["published"]), read_only=True) as con:
        columns = con.execute(
            "select schema_name || '.' || table_name as relation, column_name, comment "
            "from duckdb_columns() where schema_name in (select unnest(?))",
            [list(published_schemas())],
        ).df()
    bare = columns[columns["comment"].fillna("") == ""]
    assert bare.empty, bare
    # No hashed identity value and no raw PII column reaches the published file: sellers,
    # listings and orders appear under their pseudonymised ids only.
    raw_pii = {c for names in PII_COLUMNS.values() for c in names}
    leaked = columns[
        columns["column_name"].str.endswith("_hash") | columns["column_name"].isin(raw_pii)
    ]
    assert leaked.empty, leaked[["relation", "column_name"]]
    # The build's state holds the internals the published file leaves out.
    with duckdb.connect(str(built["db"]), read_only=True) as con:
        hashed = con.execute(
            "select count(*) from duckdb_columns() where column_name like '%\\_hash' escape '\\'"
            " and schema_name in ('staging', 'intermediate')"
        ).fetchone()[0]
    assert hashed > 0
    # The exposure on the docs site lists the same relations.
    manifest = json.loads((Path(built["results"]).parent / "manifest.json").read_text())
    (exposure,) = [e for e in manifest["exposures"].values() if e["name"] == "bi_catalogue"]
    nodes = [manifest["nodes"][n] for n in exposure["depends_on"]["nodes"]]
    listed = {f"{n['schema']}.{n['alias'] or n['name']}" for n in nodes}
    assert listed == read - WRITTEN_AT_PUBLISH
    # Every model and seed builds into a published schema or an internal one, none into `main`.
    built_into = {
        n["schema"] for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")
    }
    assert built_into == set(published_schemas()) | {"staging", "intermediate"}


def test_counts_are_integers_and_labels_come_from_the_metric_registry(built):
    with duckdb.connect(str(built["published"]), read_only=True) as con:
        types = con.execute(
            """
            select table_name, column_name, data_type from information_schema.columns
            where table_schema = 'metrics' and column_name in ('numerator', 'denominator')
              and table_name in ('metrics_daily', 'metrics_by_period', 'metric_rates')
            """
        ).fetchall()
        labels = con.execute(
            """
            select distinct metric_name, metric_label, unit, direction_is_good, target_value
            from metrics.metric_rates order by metric_name
            """
        ).fetchall()
    assert len(types) == 6 and {t for _, _, t in types} == {"BIGINT"}
    assert len(labels) == len(metric_registry.load().metrics) == 7
    with SEED.open() as handle:
        registry = sorted(
            (
                r["metric_name"],
                r["metric_label"],
                r["unit"],
                r["direction_is_good"],
                float(r["target_value"]),
            )
            for r in csv.DictReader(handle)
        )
    assert labels == registry


def _wilson(successes: int, trials: int, side: str) -> float:
    p = successes / trials
    centre = p + Z * Z / (2 * trials)
    spread = Z * math.sqrt(p * (1 - p) / trials + Z * Z / (4 * trials * trials))
    bound = (centre - spread if side == "lower" else centre + spread) / (1 + Z * Z / trials)
    return min(max(bound, 0.0), 1.0)


def _schema_of(con: duckdb.DuckDBPyConnection, table: str) -> str:
    return con.execute(
        "select schema_name from duckdb_tables() where table_name = ?", [table]
    ).fetchone()[0]


def _effective_counts(db: Path, weeks: pd.DataFrame) -> list[tuple[float, float]]:
    """Per week, the counts its Wilson interval reads: the counts, or for a ratio of sums the
    Kish effective counts from the amounts of its units, the records of one cluster (listing)
    on one day and segment (the outcome model of the registry)."""
    registry = metric_registry.load()
    squares = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for metric in registry.metrics:
            if metric.is_amount:
                amount, day = metric.amount_column, metric.date_column
                rows = con.execute(
                    f"""
                    with units as (
                        select {day} as day, sum({amount}) as amount
                        from {_schema_of(con, metric.outcome_model)}.{metric.outcome_model}
                        group by {day}, region, category, {metric.cluster_column}
                    )
                    select date_trunc('week', day), sum(cast(amount as double) * amount)
                    from units group by 1
                    """
                ).fetchall()
                squares |= {(metric.label, pd.Timestamp(w)): q for w, q in rows}
    trials = []
    for label, week, n, d in weeks[["metric_label", "week", "numerator", "denominator"]].values:
        q = squares.get((label, pd.Timestamp(week)))
        trials.append((n, d) if q is None else (n * d / q, d * d / q))
    return trials


def test_the_weekly_rates_a_bi_tool_queries_are_ratios_of_summed_counts(built):
    example = re.search(r"```sql\n(.*?)```", BI_DOC.read_text(), re.S).group(1)
    with duckdb.connect(str(built["db"]), read_only=True) as con:  # the build's state
        as_of = con.execute("select max(as_of_date) from intermediate.int_as_of_date").fetchone()[0]
    with duckdb.connect(str(built["published"]), read_only=True) as con:
        # Every metric has a row on each day up to the reporting date (what the dashboard and
        # the validation read it from).
        last_day = con.execute("select max(metric_date) from metrics.metrics_daily").fetchone()[0]
        weekly = con.execute(example).df()
        daily = con.execute(
            """
            select d.metric_label, m.metric_date, m.numerator, m.denominator, d.maturity_days,
                m.is_complete
            from metrics.metrics_daily as m
            inner join reference.metric_definitions as d using (metric_name)
            where m.region = 'ALL' and m.category = 'ALL'
            """
        ).df()
        segments = con.execute(
            """
            select metric_label, period_start, segment_level, sum(numerator) as numerator
            from metrics.metric_rates
            where period_grain = 'week' and is_roll_up = false
            group by all
            """
        ).df()
    # The same weeks computed here from the daily counts: ISO weeks from Monday, complete
    # (every day in the data, and covered by the source its metric counts) and mature (the
    # Sunday's window closed).
    daily["metric_date"] = pd.to_datetime(daily["metric_date"])
    daily["week"] = daily["metric_date"] - pd.to_timedelta(daily["metric_date"].dt.day_of_week, "D")
    sums = daily.groupby(["metric_label", "week"], as_index=False).agg(
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
        n_days=("metric_date", "count"),
        n_covered=("is_complete", "sum"),
        maturity=("maturity_days", "first"),
    )
    sunday = sums["week"] + pd.Timedelta(days=6)
    final = (
        (sums["n_days"] == 7)
        & (sums["n_covered"] == 7)
        & (sunday + pd.to_timedelta(sums["maturity"], "D") <= pd.Timestamp(as_of))
    )
    expected = sums[final].sort_values(["metric_label", "week"]).reset_index(drop=True)
    assert len(weekly) == len(expected) >= 30
    assert list(weekly["metric_label"]) == list(expected["metric_label"])
    assert list(pd.to_datetime(weekly["period_start"])) == list(expected["week"])
    ratio = expected["numerator"] / expected["denominator"]
    assert weekly["value"].tolist() == pytest.approx(ratio.tolist(), abs=1e-12)
    trials = _effective_counts(built["db"], expected)
    lower = [_wilson(n, d, "lower") for n, d in trials]
    upper = [_wilson(n, d, "upper") for n, d in trials]
    assert weekly["ci_lower"].tolist() == pytest.approx(lower, abs=1e-9)
    assert weekly["ci_upper"].tolist() == pytest.approx(upper, abs=1e-9)
    # Not the mean of the daily rates, which weighs a quiet day like a busy one.
    daily_rate = daily["numerator"] / daily["denominator"].where(daily["denominator"] > 0)
    mean = daily.assign(rate=daily_rate).groupby(["metric_label", "week"])["rate"].mean()
    means = [mean[(m, w)] for m, w in expected[["metric_label", "week"]].values]
    assert max(abs(a - b) for a, b in zip(weekly["value"], means, strict=True)) > 1e-4
    # Status against target: the whole interval past the target is off, below it on.
    off = weekly["ci_lower"] > weekly["target_value"]
    on = weekly["value"] <= weekly["target_value"]
    assert (weekly.loc[off, "target_status"] == "off_target").all()
    assert (weekly.loc[on, "target_status"] == "on_target").all()
    assert (weekly.loc[~off & ~on, "target_status"] == "near_target").all()
    # Segment rows add up to no more than the marketplace (records of unknown segment count
    # only in the roll-ups): a BI tool summing segments never double-counts.
    assert last_day == as_of
    segments = segments[segments["segment_level"] == "region_category"].assign(
        week=lambda f: pd.to_datetime(f["period_start"])
    )
    merged = expected.merge(segments, on=["metric_label", "week"], suffixes=("", "_segments"))
    assert len(merged) == len(expected)
    assert (merged["numerator_segments"] <= merged["numerator"]).all()
    assert merged["numerator_segments"].sum() > 0.9 * merged["numerator"].sum()
