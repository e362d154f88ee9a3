"""Root cause of metric incidents on hand-made rows: a change is named only when its strategy
feeds the metric, the excess came after it, and its own extra events make most of the excess."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from governance.alerts import summarize_incident
from governance.root_cause import CauseParams, attribute_incident_causes

METRIC = "listing_violation_rate"
DAYS = pd.date_range("2026-03-04", "2026-04-07", freq="D")  # 28 baseline days, then 7
INCIDENT_DAYS = DAYS[-7:]


def _incident(direction="up"):
    return pd.DataFrame(
        [
            {
                "incident_id": "I1",
                "metric_name": METRIC,
                "anchor_region": "ALL",
                "anchor_category": "ALL",
                "first_day": INCIDENT_DAYS[0],
                "last_day": INCIDENT_DAYS[-1],
                "direction": direction,
            }
        ]
    )


def _series(numerator_during: float) -> pd.DataFrame:
    during = DAYS.isin(INCIDENT_DAYS)
    return pd.DataFrame(
        {
            "metric_name": METRIC,
            "region": "ALL",
            "category": "ALL",
            "metric_date": DAYS,
            "numerator": np.where(during, numerator_during, 30.0),
            "denominator": 1000.0,
            "is_anomaly": during,
        }
    )


def _events(strategy: str, per_day: float, per_incident_day: float, delay_hours=12, region="VN"):
    rows = []
    for day in DAYS:
        n = per_incident_day if day in INCIDENT_DAYS else per_day
        for _ in range(int(n)):
            rows.append(
                {
                    "metric_name": METRIC,
                    "metric_date": day,
                    "region": region,
                    "category": "toys",
                    "strategy_id": strategy,
                    "acted_at": day + pd.Timedelta(hours=delay_hours),
                }
            )
    return pd.DataFrame(rows)


def _interventions(*changes):
    return pd.DataFrame(
        [
            {
                "metric_name": METRIC,
                "metric_date": INCIDENT_DAYS[0],
                "change_id": change_id,
                "strategy_id": strategy,
                "strategy_name": f"{strategy.lower()}_model",
                "change_type": change_type,
                "changed_at": pd.Timestamp(at),
                "change_date": pd.Timestamp(at).normalize(),
            }
            for change_id, strategy, change_type, at in changes
        ]
    )


FEEDS = pd.DataFrame({"strategy_id": ["ST1", "ST2"], "metric_name": [METRIC, METRIC]})


def _causes(interventions, events, numerator_during=80.0, direction="up", feeds=FEEDS):
    out = attribute_incident_causes(
        _incident(direction), interventions, _series(numerator_during), events, feeds
    )
    return out.set_index("change_id")


def test_a_real_cause_is_named_with_its_share_of_the_excess():
    # 30 violating listings a day before, 80 during: 350 extra over 7 days. ST1 made 10 a day
    # before its change and 50 after: 280 of them extra, 80% of the excess.
    events = pd.concat([_events("ST1", 10, 50), _events("ST2", 5, 5)])
    causes = _causes(_interventions(("CH1", "ST1", "threshold_change", "2026-03-31 20:00")), events)
    ch1 = causes.loc["CH1"]
    assert ch1["excess_events"] == pytest.approx(350)
    assert ch1["strategy_events_after"] == 350
    assert ch1["strategy_expected_after"] == pytest.approx(70)
    assert ch1["excess_share"] == pytest.approx(0.8)
    assert ch1["is_likely_cause"] and ch1["change_rank"] == 1


def test_a_change_after_the_excess_events_is_never_named():
    # ST1's surge is the whole excess, but its change came on the incident's last evening,
    # after every extra action: its events after the change are what it did before.
    events = _events("ST1", 10, 60)
    causes = _causes(_interventions(("CH9", "ST1", "threshold_change", "2026-04-07 18:00")), events)
    ch9 = causes.loc["CH9"]
    assert ch9["strategy_events_after"] == 0
    assert ch9["excess_share"] == 0
    assert not ch9["is_likely_cause"]


def test_a_change_of_a_strategy_that_does_not_feed_the_metric_is_never_named():
    # ST3 (say a listing rule listed for a complaint surge) has a perfect-looking surge, but
    # its actions do not feed this metric's numerator.
    events = _events("ST3", 10, 60)
    causes = _causes(_interventions(("CH3", "ST3", "launch", "2026-03-31 00:00")), events)
    ch3 = causes.loc["CH3"]
    assert not ch3["feeds_metric"]
    assert np.isnan(ch3["excess_share"])
    assert not ch3["is_likely_cause"]


def test_a_small_share_is_reported_but_not_named_and_the_largest_share_ranks_first():
    events = pd.concat([_events("ST1", 10, 20), _events("ST2", 5, 45)])
    changes = _interventions(
        ("CH1", "ST1", "threshold_change", "2026-03-30 00:00"),
        ("CH2", "ST2", "threshold_change", "2026-03-31 00:00"),
    )
    causes = _causes(changes, events)
    assert causes.loc["CH1", "excess_share"] == pytest.approx(70 / 350)
    assert not causes.loc["CH1", "is_likely_cause"]
    assert causes.loc["CH2", "excess_share"] == pytest.approx(280 / 350)
    assert causes.loc["CH2", "is_likely_cause"]
    assert causes["change_rank"].to_dict() == {"CH2": 1, "CH1": 2}


def test_a_fall_is_explained_by_the_events_a_change_stopped():
    # ST1 is retired before the incident: the 20 listings a day it caught go missing.
    events = _events("ST1", 20, 0)
    causes = _causes(
        _interventions(("CH4", "ST1", "retire", "2026-03-31 06:00")), events, 10.0, "down"
    )
    ch4 = causes.loc["CH4"]
    assert ch4["excess_events"] == pytest.approx(140)
    assert ch4["strategy_expected_after"] == pytest.approx(140)
    assert ch4["excess_share"] == pytest.approx(1.0)
    assert ch4["is_likely_cause"]


def test_events_outside_the_anchor_segment_do_not_count():
    events = _events("ST1", 10, 50, region="VN")
    incident = _incident().assign(anchor_region="TH")
    series = _series(80.0).assign(region="TH")
    out = attribute_incident_causes(
        incident, _interventions(("CH1", "ST1", "launch", "2026-03-31")), series, events, FEEDS
    )
    assert out.loc[0, "excess_share"] == 0


def test_params_from_dbt_vars_are_checked():
    params = CauseParams.from_mapping({"anomaly_window_days": "14", "alert_cause_min_share": 0.6})
    assert params == CauseParams(baseline_days=14, min_share=0.6)
    with pytest.raises(ValueError, match="alert_cause_min_share"):
        CauseParams.from_mapping({"alert_cause_min_share": "1.5"})


def test_summary_names_the_cause_with_its_share_or_says_no_change_of_ours_precedes_it():
    incident = {
        "metric_name": METRIC,
        "metric_label": "Listing violation rate",
        "anchor_region": "ALL",
        "anchor_category": "ALL",
        "first_day": "2026-04-01",
        "last_day": "2026-04-07",
        "n_anomalous_days": 7,
        "direction": "up",
        "peak_date": "2026-04-03",
        "peak_value": 0.08,
        "peak_expected_value": 0.03,
        "severity": "high",
    }
    events = pd.concat([_events("ST1", 10, 50), _events("ST2", 5, 5)])
    changes = _interventions(
        ("CH1", "ST1", "threshold_change", "2026-03-31 20:00"),
        ("CH2", "ST2", "rollback", "2026-04-06 00:00"),
    )
    causes = _causes(changes, events).reset_index().to_dict("records")
    text = summarize_incident(incident, [], causes)
    assert "st1_model (ST1) had its threshold changed on 31 Mar 2026" in text
    assert "80% of the excess" in text
    assert "(280 extra violating listings; the excess is 350 over the expected 210)" in text
    assert "st2_model (ST2)" in text and "0% of the excess" in text
    only_rollback = [c for c in causes if c["change_id"] == "CH2"]
    text = summarize_incident(incident, [], only_rollback)
    assert "No change of ours precedes it and explains it" in text
    assert "st2_model (ST2) was rolled back on 6 Apr 2026" in text
    assert "No change to our detection" in summarize_incident(incident, [], [])
    fall = _causes(
        _interventions(("CH4", "ST1", "retire", "2026-03-31 06:00")),
        _events("ST1", 20, 0),
        10.0,
        "down",
    )
    text = summarize_incident(
        dict(incident, direction="down"), [], fall.reset_index().to_dict("records")
    )
    assert "st1_model (ST1) was retired on 31 Mar 2026" in text
    assert (
        "account for all of the shortfall (140 fewer violating listings; the shortfall is 140 "
        "below the expected 210)"
    ) in text
