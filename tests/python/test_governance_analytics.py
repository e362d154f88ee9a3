"""Strategy scorecards, metric movement attribution, alerts and the QA queue on the small demo
tier (seed 42), checked against the simulator's planted truth."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pandas as pd
import pytest
import yaml

from governance import settings
from governance.alerts import open_incidents
from governance.cli import main
from governance.warehouse import run_dbt


def _query(db, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).df()


def _truth_incidents(built, incident_type: str) -> pd.DataFrame:
    incidents = pd.read_parquet(built["truth"] / "incidents.parquet")
    rows = incidents[incidents["incident_type"] == incident_type]
    assert not rows.empty, f"the simulator planted no {incident_type} incident"
    return rows


def _overlapping_alerts(built, metric: str, start, end) -> pd.DataFrame:
    return _query(
        built["db"],
        "select * from monitoring.alerts "
        "where metric_name = ? and first_day <= ? and last_day >= ?",
        [metric, pd.Timestamp(end).date(), pd.Timestamp(start).date()],
    )


def test_false_positive_threshold_change_is_attributed_to_that_change(built_small):
    planted = _truth_incidents(built_small, "strategy_false_positives")
    row = planted[planted["metric_name"] == "listing_violation_rate"].iloc[0]
    alerts = _overlapping_alerts(built_small, row.metric_name, row.start_date, row.end_date)
    assert len(alerts) >= 1, "the planted false-positive surge raised no alert"
    for alert in alerts.itertuples():
        assert alert.primary_change_id == row.change_id
        assert alert.primary_strategy_id == row.strategy_id
        assert alert.primary_change_share >= 0.8
        assert f"({row.strategy_id}) had its threshold changed" in alert.summary
        assert "A change to our own detection precedes it and explains it" in alert.summary
        assert "after the change account for" in alert.summary
    # The overturns a week or two later are the same change's, through appeals.
    overturns = planted[planted["metric_name"] == "appeal_overturn_rate"]
    for row in overturns.itertuples():
        for alert in _overlapping_alerts(
            built_small, row.metric_name, row.start_date, row.end_date
        ).itertuples():
            if alert.direction == "up":
                assert alert.primary_change_id == row.change_id, alert.summary


def test_the_change_shows_more_volume_and_worse_precision_until_its_rollback(built_small):
    row = _truth_incidents(built_small, "strategy_false_positives").iloc[0]
    impact = _query(
        built_small["db"],
        "select * from strategy.strategy_change_impact where strategy_id = ? order by changed_at",
        [row.strategy_id],
    ).set_index("change_id")
    change = impact.loc[row.change_id]
    assert change.change_type == "threshold_change"
    assert change.hits_per_day_after > 5 * change.hits_per_day_before
    assert change.enforced_hits_per_day_after > 5 * change.enforced_hits_per_day_before
    assert change.qa_precision_after < change.qa_precision_before
    assert change.qa_precision_after_ci_upper < 0.3
    assert change.appeal_overturn_rate_after > 0.5
    # The "after" window ends at the rollback, whose own "before" is the changed regime.
    later = impact[impact["changed_at"] > change.changed_at].iloc[0]
    assert later.change_type == "rollback"
    assert change.after_end_at == later.changed_at
    assert later.hits_per_day_after < later.hits_per_day_before / 5


def test_attack_spike_is_attributed_to_its_region_and_category(built_small):
    planted = _truth_incidents(built_small, "attack_spike")
    segments = planted[(planted["region"] != "ALL") & (planted["category"] != "ALL")]
    checked = 0
    for row in segments.itertuples():
        alerts = _overlapping_alerts(built_small, row.metric_name, row.start_date, row.end_date)
        if row.metric_name == "listing_violation_rate":
            assert len(alerts) >= 1, "the planted attack raised no listing violation alert"
        for alert in alerts.itertuples():
            assert (alert.top_segment_region, alert.top_segment_category) == (
                row.region,
                row.category,
            )
            assert alert.primary_change_id is None
            assert "No change" in alert.summary and "precedes it" in alert.summary
            checked += 1
    assert checked >= 1


def test_attribution_puts_the_attack_segment_first_through_its_own_rate(built_small):
    planted = _truth_incidents(built_small, "attack_spike")
    row = planted[
        (planted["metric_name"] == "listing_violation_rate") & (planted["region"] != "ALL")
    ].iloc[0]
    days = pd.date_range(row.start_date, row.end_date).date.tolist()
    top = _query(
        built_small["db"],
        """
        select metric_date, region, category, mix_effect, rate_effect, share_of_change
        from monitoring.metric_movement_attribution
        where metric_name = ? and comparison = 'week_over_week' and contribution_rank = 1
            and metric_date in (select unnest(?))
        """,
        [row.metric_name, days],
    )
    assert len(top) == len(days)
    assert (top["region"] == row.region).all() and (top["category"] == row.category).all()
    assert (top["rate_effect"] > top["mix_effect"]).all()
    assert (top["share_of_change"] > 0.5).all()


def test_shadow_mode_and_qa_estimates_agree_with_the_simulators_strategies(built_small):
    truth = pd.read_parquet(built_small["truth"] / "strategy_truth.parquet").set_index(
        "strategy_id"
    )
    lifetime = _query(
        built_small["db"],
        """
        select strategy_id, bool_or(is_shadow_mode) as is_shadow_mode,
            sum(n_flagged_checks) as flagged, sum(n_flagged_confirmed) as confirmed,
            sum(n_recall_checks) as recall_checks, sum(n_recall_checks_hit) as recall_hits
        from strategy.strategy_performance_daily
        where window_days = 1
        group by strategy_id
        """,
    ).set_index("strategy_id")
    shadow = set(lifetime.index[lifetime["is_shadow_mode"]])
    assert shadow == set(truth.index[truth["is_shadow"]])
    precise = lifetime[lifetime["flagged"] >= 50]
    assert len(precise) >= 6
    error = (precise["confirmed"] / precise["flagged"] - truth["realised_precision"]).dropna()
    assert error.abs().max() < 0.1
    recalled = lifetime[lifetime["recall_checks"] >= 40]
    assert len(recalled) >= 4
    error = (
        recalled["recall_hits"] / recalled["recall_checks"] - truth["realised_recall"]
    ).dropna()
    assert error.abs().max() < 0.12


def test_qa_queue_draws_by_hash_order_and_its_weights_add_up_to_the_population(built_small):
    queue = _query(built_small["db"], "select * from monitoring.qa_sample_queue")
    day = queue["queue_date"].iloc[0]
    assert (queue["queue_date"] == day).all()
    listings = _query(
        built_small["db"],
        """
        select listing_id, coalesce(region, 'UNKNOWN') as region,
            coalesce(category, 'UNKNOWN') as category
        from intermediate.int_listing_segments
        where cast(created_at as date) = ?
        """,
        [day],
    )
    randoms = queue[(queue["sample_type"] == "random") & (queue["target_type"] == "listing")]
    weights = randoms.groupby(["region", "category"])["sampling_weight"].sum()
    population = listings.groupby(["region", "category"]).size()
    assert weights.round(9).to_dict() == population.astype(float).to_dict()
    # Each stratum takes the candidates first in md5(day|random|listing|id) order.
    for (region, category), drawn in randoms.groupby(["region", "category"]):
        ids = listings[(listings["region"] == region) & (listings["category"] == category)]
        key = {
            i: hashlib.md5(f"{day:%Y-%m-%d}|random|listing|{i}".encode()).hexdigest()
            for i in ids["listing_id"]
        }
        expected = sorted(key, key=lambda i: (key[i], i))[: len(drawn)]
        assert sorted(drawn["target_id"]) == sorted(expected)
    # Flagged items: standard strategies get the base size, the others `qa_flagged_boost` times.
    project = yaml.safe_load((settings.project_dir() / "dbt_project.yml").read_text())
    base = int(project["vars"]["qa_flagged_per_strategy"])
    boosted = base * int(project["vars"]["qa_flagged_boost"])
    flagged = queue[queue["sample_type"] == "flagged"]
    sizes = flagged.groupby(["strategy_id", "selection_reason"]).agg(
        n=("target_id", "size"), population=("stratum_population", "first")
    )
    for (_, reason), size in sizes.iterrows():
        cap = base if reason == "standard" else boosted
        assert size["n"] == min(cap, size["population"])
    assert "shadow_mode" in set(flagged["selection_reason"])


def test_alerts_command_reports_the_incidents_open_on_a_day(built_small, capsys):
    row = _truth_incidents(built_small, "strategy_false_positives").iloc[0]
    day = (pd.Timestamp(row.start_date) + pd.Timedelta(days=3)).date()
    code = main(
        ["alerts", "--duckdb-path", str(built_small["db"]), "--date", str(day), "--format", "json"]
    )
    assert code == 0
    incidents = json.loads(capsys.readouterr().out)
    incidents = [i for i in incidents if i["metric_name"] == row.metric_name]
    assert [i["primary_change_id"] for i in incidents] == [row.change_id]
    assert incidents[0]["report_date"] == str(day)

    assert main(["alerts", "--duckdb-path", str(built_small["db"]), "--date", str(day)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith(f"Open incidents on {day.day} ")
    assert f"strategy changes: {row.change_id}" in text

    # Weeks later the incident is closed; the default day is the latest metric date.
    later = (pd.Timestamp(row.end_date) + pd.Timedelta(days=30)).date()
    assert all(
        i["incident_id"] != incidents[0]["incident_id"]
        for i in open_incidents(built_small["db"], date=later)
    )
    latest = _query(built_small["db"], "select max(metric_date) as d from metrics.metrics_daily")
    latest = latest["d"].iloc[0].date()
    assert all(i["report_date"] == latest for i in open_incidents(built_small["db"]))
    assert main(["alerts", "--duckdb-path", str(built_small["db"])]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith(f"Open incidents on {latest.day} {latest:%b %Y}:")
    with pytest.raises(ValueError, match="date must be written YYYY-MM-DD"):
        open_incidents(built_small["db"], date="30/06/2026")


def test_inconsistent_qa_queue_sizes_are_refused_with_a_clear_message(built):
    process = run_dbt(
        [
            "compile",
            "--select",
            "int_qa_stratum_plan",
            "--vars",
            "{qa_min_per_stratum: 30, qa_max_per_stratum: 5}",
        ],
        raw_dir=built["raw"],
        duckdb_path=built["root"] / "compile-qa.duckdb",
        target_path=built["root"] / "target-compile-qa",
        quiet=True,
    )
    assert process.returncode != 0
    assert "dbt var 'qa_min_per_stratum' (30) must not exceed 'qa_max_per_stratum' (5)" in (
        process.stdout
    )
