"""The MetricFlow semantic layer over the session warehouse: the definitions validate against
the warehouse, and `mf query` results equal the published metrics_daily rows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from governance import metric_registry, settings
from governance.semantic import query, validate

# Each rate and the simple metrics of its numerator and denominator.
RATIO_PARTS = {
    "listing_violation_rate": ("violating_listings", "listings_created"),
    "low_quality_listing_rate": ("low_quality_listings", "listings_created"),
    "bad_seller_onboarding_rate": ("bad_sellers_onboarded", "sellers_onboarded"),
    "violation_prevalence": ("violating_random_checks", "random_listing_checks"),
    "complaint_rate": ("complained_orders", "completed_order_count"),
    "appeal_overturn_rate": ("overturned_appeals", "resolved_appeals"),
    "violating_gmv_share": ("violating_listing_gmv_cents", "completed_order_gmv_cents"),
}


def _sql(db, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def _day(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column).dt.date


@pytest.fixture(scope="module")
def mf(built):
    """`mf query` against the session warehouse and its build's semantic manifest."""

    def run(metrics, group_by, where=()):
        return query(
            metrics,
            group_by=group_by,
            where=where,
            target_path=built["results"].parent,
            duckdb_path=built["published"],
        )

    return run


def test_semantic_layer_validates_against_the_built_warehouse(built):
    result = validate(
        built["results"].parent,
        duckdb_path=built["published"],
        raw_dir=built["raw"],
        warehouse=True,
    )
    output = (result.stdout or "") + (result.stderr or "")
    assert result.returncode == 0, output[-3000:]
    assert "validated the semantics of built manifest (ERRORS: 0" in output
    for stage in ("semantic models", "dimensions", "entities", "measures", "metrics"):
        assert f"validated {stage} against data warehouse (ERRORS: 0" in output, stage


def test_listing_violation_rate_by_region_equals_metrics_daily_on_mature_days(built, mf):
    result = mf(
        ["listing_violation_rate", "violating_listings", "listings_created"],
        group_by=["metric_time__day", "listing__region"],
        where=["{{ Dimension('listing__is_mature') }}"],
    )
    # Listings of unknown sellers have no region; metrics_daily counts them only in ALL.
    result = result[result["listing__region"].notna()].assign(
        metric_date=lambda f: _day(f["metric_time__day"]), region=lambda f: f["listing__region"]
    )
    published = _sql(
        built["published"],
        """
        select metric_date, region, numerator, denominator, value
        from metrics.metrics_daily
        where metric_name = 'listing_violation_rate' and category = 'ALL' and region <> 'ALL'
            and is_mature and denominator > 0
        """,
    ).assign(metric_date=lambda f: _day(f["metric_date"]))
    merged = published.merge(result, on=["metric_date", "region"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    assert len(merged) > 200
    assert merged["region"].nunique() == 6
    assert (merged["numerator"] == merged["violating_listings"]).all()
    assert (merged["denominator"] == merged["listings_created"]).all()
    assert (merged["value"] - merged["listing_violation_rate"]).abs().max() < 1e-12
    assert merged["numerator"].sum() > 0


def test_each_order_metric_reads_its_own_maturity(built, mf):
    # The order fact holds the complaint rate and the violating GMV share, whose windows
    # differ: each metric's semantic model carries that metric's maturity, the one
    # metrics_daily gives the day.
    published = _sql(
        built["published"],
        """
        select metric_name, metric_date, is_mature from metrics.metrics_daily
        where metric_name in ('complaint_rate', 'violating_gmv_share')
            and region = 'ALL' and category = 'ALL' and denominator > 0
        """,
    ).assign(metric_date=lambda f: _day(f["metric_date"]))
    flags = {}
    for metric, dimension in (
        ("complaint_rate", "order__is_mature"),
        ("violating_gmv_share", "order_gmv__is_mature"),
    ):
        result = mf([metric], group_by=["metric_time__day", dimension])
        result = result.assign(metric_date=_day(result["metric_time__day"]))
        expected = published[published["metric_name"] == metric]
        merged = expected.merge(result, on="metric_date", how="outer", indicator=True)
        assert (merged["_merge"] == "both").all(), metric
        assert (merged["is_mature"] == merged[dimension].astype(bool)).all(), metric
        flags[metric] = merged.set_index("metric_date")["is_mature"]
    days = pd.concat(flags, axis=1, join="inner")
    differ = days[days["complaint_rate"] != days["violating_gmv_share"]]
    # The days between the share's window and the complaint rate's: mature for the share only.
    assert len(differ) > 0
    assert differ["violating_gmv_share"].all()


def test_every_rate_by_day_equals_the_all_regions_all_categories_rows(built, mf):
    assert tuple(RATIO_PARTS) == metric_registry.load().names
    parts = [m for pair in RATIO_PARTS.values() for m in pair]
    result = mf(list(RATIO_PARTS) + sorted(set(parts)), group_by=["metric_time__day"])
    result["metric_date"] = _day(result["metric_time__day"])
    published = _sql(
        built["published"],
        """
        select metric_name, metric_date, numerator, denominator, value
        from metrics.metrics_daily
        where region = 'ALL' and category = 'ALL' and denominator > 0
        """,
    ).assign(metric_date=lambda f: _day(f["metric_date"]))
    for metric, (numerator, denominator) in RATIO_PARTS.items():
        expected = published[published["metric_name"] == metric]
        actual = result[result[denominator].fillna(0) > 0]
        merged = expected.merge(actual, on="metric_date", how="outer", indicator=True)
        assert (merged["_merge"] == "both").all(), metric
        assert len(merged) > 20, metric
        assert (merged["numerator"] == merged[numerator]).all(), metric
        assert (merged["denominator"] == merged[denominator]).all(), metric
        assert (merged["value"] - merged[metric]).abs().max() < 1e-12, metric


def test_weekly_rate_is_the_ratio_of_summed_daily_counts(built, mf):
    result = mf(["listing_violation_rate"], group_by=["metric_time__week", "listing__region"])
    result = result[result["listing__region"].notna()]
    expected = _sql(
        built["published"],
        """
        select date_trunc('week', metric_date) as week, region,
               sum(numerator) / sum(denominator) as weekly_rate,
               avg(value) as mean_daily_rate
        from metrics.metrics_daily
        where metric_name = 'listing_violation_rate' and category = 'ALL' and region <> 'ALL'
            and denominator > 0
        group by 1, 2
        """,
    ).assign(week=lambda f: _day(f["week"]))
    result = result.assign(week=_day(result["metric_time__week"]), region=result["listing__region"])
    merged = expected.merge(result, on=["week", "region"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["weekly_rate"] - merged["listing_violation_rate"]).abs().max() < 1e-12
    # Not the average of daily rates, which over-weights small days.
    assert (merged["mean_daily_rate"] - merged["listing_violation_rate"]).abs().max() > 1e-4
    # The weekly rows BI tools read (metrics_by_period) are the same weeks.
    published = _sql(
        built["published"],
        """
        select period_start as week, region, value from metrics.metrics_by_period
        where period_grain = 'week' and metric_name = 'listing_violation_rate'
          and category = 'ALL' and region <> 'ALL' and denominator > 0
        """,
    ).assign(week=lambda f: _day(f["week"]))
    both = published.merge(merged, on=["week", "region"], how="outer", indicator="found")
    assert (both["found"] == "both").all()
    assert (both["value"] - both["listing_violation_rate"]).abs().max() < 1e-12


def test_seller_type_splits_the_onboarding_cohort(built, mf):
    result = mf(
        ["bad_seller_onboarding_rate", "bad_sellers_onboarded", "sellers_onboarded"],
        group_by=["seller__seller_type"],
    ).set_index("seller__seller_type")
    expected = _sql(
        built["db"],  # the build's internals
        """
        select s.seller_type,
               sum(case when o.is_bad_within_30d then 1 else 0 end) as bad,
               count(*) as onboarded
        from intermediate.int_seller_onboarding_outcomes as o
        inner join staging.stg_marketplace__sellers as s on o.seller_id = s.seller_id
        group by s.seller_type
        """,
    ).set_index("seller_type")
    assert set(result.index) == {"individual", "business"}
    for seller_type, row in expected.iterrows():
        assert result.loc[seller_type, "bad_sellers_onboarded"] == row["bad"]
        assert result.loc[seller_type, "sellers_onboarded"] == row["onboarded"]
        assert result.loc[seller_type, "bad_seller_onboarding_rate"] == pytest.approx(
            row["bad"] / row["onboarded"], abs=1e-12
        )
    totals = _sql(
        built["published"],
        "select sum(numerator) as bad, sum(denominator) as onboarded from metrics.metrics_daily "
        "where metric_name = 'bad_seller_onboarding_rate' and region = 'ALL' and category = 'ALL'",
    ).iloc[0]
    assert result["bad_sellers_onboarded"].sum() == totals["bad"]
    assert result["sellers_onboarded"].sum() == totals["onboarded"]


def _checkout(tmp_path: Path) -> Path:
    """The project's files as a fresh checkout has them (tracked and new, not ignored ones):
    no target/, no warehouse, no parse yet."""
    project = settings.project_dir()
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    checkout = tmp_path / "checkout"
    for name in listed.stdout.splitlines():
        source = project / name
        if source.is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / name)
    return checkout


def test_mf_from_a_fresh_checkout_reads_the_published_warehouse_beside_a_reader(built, tmp_path):
    checkout = _checkout(tmp_path)
    venv = Path(sys.executable).parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "GOVERNANCE_"))}
    # `make install` (the virtualenv is there already) parses the project for MetricFlow.
    install = subprocess.run(
        ["make", "install", f"VENV={venv}", "-o", f"{venv}/bin/.installed"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert (checkout / "target" / "semantic_manifest.json").exists()
    # The published warehouse where a checkout has it; a BI tool holds it open, read-only.
    published = checkout / "warehouse" / "governance.duckdb"
    published.parent.mkdir()
    shutil.copy(built["published"], published)
    csv = tmp_path / "mf.csv"
    with duckdb.connect(str(published), read_only=True) as reader:
        process = subprocess.run(
            [
                str(Path(sys.executable).parent / "mf"),
                "query",
                "--metrics",
                "listing_violation_rate,violating_listings,listings_created",
                "--group-by",
                "metric_time__day",
                "--csv",
                str(csv),
                "--quiet",
            ],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert process.returncode == 0, process.stdout + process.stderr
        expected = reader.execute(
            """
            select metric_date, numerator, denominator, value from metrics.metrics_daily
            where metric_name = 'listing_violation_rate' and region = 'ALL' and category = 'ALL'
              and denominator > 0
            """
        ).df()
    # mf did not take the file over: a writer can open it now that both are done.
    duckdb.connect(str(published)).close()
    result = pd.read_csv(csv).assign(metric_date=lambda f: _day(f["metric_time__day"]))
    merged = expected.assign(metric_date=_day(expected["metric_date"])).merge(
        result[result["listings_created"] > 0], on="metric_date", how="outer", indicator=True
    )
    assert (merged["_merge"] == "both").all() and len(merged) > 20
    assert (merged["numerator"] == merged["violating_listings"]).all()
    assert (merged["denominator"] == merged["listings_created"]).all()
    assert (merged["value"] - merged["listing_violation_rate"]).abs().max() < 1e-12


def test_the_read_only_clients_say_to_build_first_when_there_is_no_warehouse(tmp_path):
    # `dbt debug` (and `dbt show`, `mf`) open the warehouse read-only: with none at the path
    # they stop with one line saying what to do, and create no file there.
    from governance.warehouse import run_dbt

    missing = tmp_path / "governance.duckdb"
    debug = run_dbt(["debug"], duckdb_path=missing, quiet=True)
    assert debug.returncode != 0
    assert (
        f"no warehouse at {missing} to read: build it first (`make demo`, or `governance build`"
    ) in debug.stdout
    assert not missing.exists()
