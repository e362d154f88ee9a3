"""Data coverage on the tiny warehouse (sellers are onboarded from 60 days before the first
enforcement record) and the one place each metric's counted source is written down."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pandas as pd

from governance import metric_registry

ROOT = Path(__file__).resolve().parents[2]


def _sql(db, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def test_each_glossary_entry_names_the_source_its_metric_counts():
    with (ROOT / "seeds" / "metric_definitions.csv").open() as f:
        sources = {row["metric_name"]: row["outcome_source"] for row in csv.DictReader(f)}
    docs = (ROOT / "models" / "marts" / "governance" / "_metric_glossary__docs.md").read_text()
    for metric, source in sources.items():
        entry = re.search(r"\{% docs metric_" + metric + r" %\}(.*?)\{% enddocs %\}", docs, re.S)
        coverage = re.search(r"\*\*Coverage\.\*\* Counts `(\w+)`", entry.group(1))
        assert coverage and coverage.group(1) == source, metric


def test_cohorts_before_the_counted_source_begins_are_incomplete_and_never_judged(built):
    db = built["db"]
    flags = _sql(
        db,
        """
        select m.metric_name, m.metric_date, m.is_complete, c.coverage_start_date
        from metrics.metrics_daily as m
        inner join reference.metric_definitions as d using (metric_name)
        inner join intermediate.int_source_coverage as c on d.outcome_source = c.source_name
        where m.region = 'ALL' and m.category = 'ALL'
        """,
    )
    expected = pd.to_datetime(flags["metric_date"]) >= pd.to_datetime(flags["coverage_start_date"])
    assert (flags["is_complete"] == expected).all()
    onboarding = flags[flags["metric_name"] == "bad_seller_onboarding_rate"]
    edge = pd.Timestamp(onboarding["coverage_start_date"].iloc[0])
    first_onboarding = pd.Timestamp(onboarding["metric_date"].min())
    assert (edge - first_onboarding).days >= 60  # enforcement starts 60 days after onboarding
    assert (~onboarding["is_complete"]).sum() >= 60
    judged = _sql(
        db,
        "select metric_name, region, category, metric_date, is_anomaly "
        "from detection.metric_anomalies where metric_name = 'bad_seller_onboarding_rate'",
    )
    assert pd.to_datetime(judged["metric_date"]).min() == edge
    near_edge = pd.to_datetime(judged["metric_date"]) < edge + pd.Timedelta(days=28)
    assert not judged.loc[near_edge, "is_anomaly"].any()


def test_strategy_events_are_numerator_members(built):
    counts = _sql(
        built["db"],
        """
        with events as (
            select metric_name, metric_date, sum(weight) as n
            from intermediate.int_metric_strategy_events group by 1, 2
        )
        select e.metric_name, e.metric_date, e.n, m.numerator
        from events as e
        inner join metrics.metrics_daily as m
            on e.metric_name = m.metric_name and e.metric_date = m.metric_date
        where m.region = 'ALL' and m.category = 'ALL'
        """,
    )
    assert len(counts) > 0
    assert (counts["n"] <= counts["numerator"]).all()
    # Only metrics that enforcement actions feed (the registry's `numerator_actions`).
    fed = {m.name for m in metric_registry.load().metrics if m.numerator_actions}
    assert fed == {
        "listing_violation_rate",
        "low_quality_listing_rate",
        "bad_seller_onboarding_rate",
        "appeal_overturn_rate",
        "violating_gmv_share",
    }
    assert set(counts["metric_name"]) <= fed
    assert "violating_gmv_share" in set(counts["metric_name"])
