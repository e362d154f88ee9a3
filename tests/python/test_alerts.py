"""Incident grouping and plain-language summaries of governance.alerts on hand-made anomalies."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from governance.alerts import (
    AlertParams,
    assign_incidents,
    format_incidents,
    summarize_incident,
    summarize_incidents,
)

METRIC = "listing_violation_rate"


def anomaly_rows(series: dict[tuple[str, str], list[str]], metric: str = METRIC) -> pd.DataFrame:
    """Anomalous days per (region, category); severity low, direction up, score 5."""
    rows = []
    for (region, category), days in series.items():
        for day in days:
            rows.append(
                {
                    "metric_name": metric,
                    "region": region,
                    "category": category,
                    "metric_date": pd.Timestamp(day).date(),
                    "is_anomaly": True,
                    "severity": "low",
                    "direction": "up",
                    "value": 0.2,
                    "expected_value": 0.1,
                    "anomaly_score": 5.0,
                }
            )
    return pd.DataFrame(rows)


def incidents_of(frame: pd.DataFrame, gap: int = 1) -> dict[str, set]:
    days = assign_incidents(frame, max_gap_days=gap)
    return {
        incident: set(zip(g["region"], g["category"], g["metric_date"].dt.day, strict=True))
        for incident, g in days.groupby("incident_id")
    }


def test_consecutive_days_with_one_quiet_day_form_one_incident():
    frame = anomaly_rows({("SG", "fashion"): ["2026-03-01", "2026-03-02", "2026-03-04"]})
    assert list(incidents_of(frame)) == [f"{METRIC}|SG|fashion|2026-03-01"]


def test_two_quiet_days_split_a_series_into_two_incidents():
    frame = anomaly_rows({("SG", "fashion"): ["2026-03-01", "2026-03-02", "2026-03-05"]})
    assert sorted(incidents_of(frame)) == [
        f"{METRIC}|SG|fashion|2026-03-01",
        f"{METRIC}|SG|fashion|2026-03-05",
    ]
    # A larger allowed gap joins them again.
    assert len(incidents_of(frame, gap=2)) == 1


def test_child_segments_are_grouped_under_the_highest_parent_that_fires_with_them():
    frame = anomaly_rows(
        {
            ("VN", "electronics"): ["2026-04-11", "2026-04-12", "2026-04-13"],
            ("VN", "ALL"): ["2026-04-11", "2026-04-12"],
            ("ALL", "electronics"): ["2026-04-12"],
            ("ALL", "ALL"): ["2026-04-12"],
            # Same days, unrelated region and category: its own incident.
            ("SG", "beauty"): ["2026-04-12"],
        }
    )
    days = assign_incidents(frame, max_gap_days=1)
    incidents = incidents_of(frame)
    assert sorted(incidents) == [
        f"{METRIC}|ALL|ALL|2026-04-11",
        f"{METRIC}|SG|beauty|2026-04-12",
    ]
    attack = days[days["incident_id"] == f"{METRIC}|ALL|ALL|2026-04-11"]
    assert len(attack) == 7
    anchor = attack[attack["is_anchor_series"]]
    assert set(zip(anchor["region"], anchor["category"], strict=True)) == {("ALL", "ALL")}
    levels = zip(attack["region"] + "/" + attack["category"], attack["series_level"], strict=True)
    assert dict(levels) == {
        "ALL/ALL": 0,
        "VN/ALL": 1,
        "ALL/electronics": 1,
        "VN/electronics": 2,
    }


def test_a_child_without_a_firing_parent_anchors_its_own_incident_at_the_region_level():
    frame = anomaly_rows({("VN", "electronics"): ["2026-04-11"], ("VN", "ALL"): ["2026-04-12"]})
    assert list(incidents_of(frame)) == [f"{METRIC}|VN|ALL|2026-04-11"]


def test_parents_that_fire_weeks_apart_do_not_absorb_a_child():
    frame = anomaly_rows({("VN", "electronics"): ["2026-04-11"], ("ALL", "ALL"): ["2026-04-20"]})
    assert sorted(incidents_of(frame)) == [
        f"{METRIC}|ALL|ALL|2026-04-20",
        f"{METRIC}|VN|electronics|2026-04-11",
    ]


def test_metrics_never_share_an_incident_and_non_anomalous_rows_are_ignored():
    frame = pd.concat(
        [
            anomaly_rows({("ALL", "ALL"): ["2026-04-12"]}),
            anomaly_rows({("ALL", "ALL"): ["2026-04-12"]}, metric="complaint_rate"),
            anomaly_rows({("ALL", "ALL"): ["2026-04-13"]}).assign(is_anomaly=False),
        ]
    )
    assert sorted(incidents_of(frame)) == [
        "complaint_rate|ALL|ALL|2026-04-12",
        f"{METRIC}|ALL|ALL|2026-04-12",
    ]


def test_no_anomaly_gives_an_empty_frame_with_the_output_columns():
    frame = anomaly_rows({("ALL", "ALL"): ["2026-04-12"]}).assign(is_anomaly=False)
    days = assign_incidents(frame)
    assert days.empty
    assert "incident_id" in days.columns and str(days["metric_date"].dtype).startswith("datetime")


def test_bad_input_is_refused_with_the_rule_it_breaks():
    with pytest.raises(ValueError, match=r"missing required columns: \['severity'\]"):
        assign_incidents(anomaly_rows({("ALL", "ALL"): ["2026-04-12"]}).drop(columns="severity"))
    with pytest.raises(ValueError, match="unknown levels \\['extreme'\\]"):
        assign_incidents(anomaly_rows({("ALL", "ALL"): ["2026-04-12"]}).assign(severity="extreme"))
    with pytest.raises(ValueError, match="'alert_max_gap_days' must be a whole number between 0"):
        AlertParams.from_mapping({"alert_max_gap_days": "two"})
    assert AlertParams.from_mapping({"alert_max_gap_days": "2"}).max_gap_days == 2


INCIDENT = {
    "incident_id": "listing_violation_rate|ALL|ALL|2026-04-27",
    "metric_name": METRIC,
    "metric_label": "Listing violation rate",
    "anchor_region": "ALL",
    "anchor_category": "ALL",
    "first_day": pd.Timestamp("2026-04-27"),
    "last_day": pd.Timestamp("2026-04-29"),
    "n_anomalous_days": 3,
    "severity": "medium",
    "direction": "up",
    "peak_date": pd.Timestamp("2026-04-28"),
    "peak_value": 0.0776,
    "peak_expected_value": 0.034,
    "related_series": None,
    "attributed_change": 0.04,
}
SEGMENT = {
    "region": "VN",
    "category": "electronics",
    "region_name": "Vietnam",
    "category_name": "Electronics",
    "contribution": 0.03,
    "mix_effect": 0.005,
    "rate_effect": 0.025,
}
CHANGE = {
    "change_id": "CH0020",
    "strategy_id": "ST005",
    "strategy_name": "misleading_claims_model",
    "change_type": "threshold_change",
    "change_date": pd.Timestamp("2026-04-27"),
    "change_description": "Threshold lowered from 0.80 to 0.55",
    "hits_per_day_before": 4.1,
    "hits_per_day_after": 71.2,
    "hit_volume_change": 16.2,
    "enforced_hits_per_day_before": 3.8,
    "enforced_hits_per_day_after": 64.0,
    "enforcement_volume_change": 15.8,
    "feeds_metric": True,
    "observed_events": 520.0,
    "expected_events": 300.0,
    "excess_events": 220.0,
    "strategy_excess_events": 183.0,
    "excess_share": 183.0 / 220.0,
    "is_likely_cause": True,
}
JARGON = re.compile(r"q-value|p-value|z-score|anomaly score|\bsigma\b|mix effect|rate effect", re.I)


def test_summary_names_the_change_that_explains_the_excess_in_plain_words():
    text = summarize_incident(INCIDENT, [SEGMENT], [CHANGE])
    assert text.startswith("Listing violation rate for the whole marketplace rose")
    assert "7.8% against about 3.4% expected" in text
    assert "from 27 Apr 2026 to 29 Apr 2026 (3 days flagged)" in text
    assert "misleading_claims_model (ST005) had its threshold changed on 27 Apr 2026" in text
    assert "its flags went from 4 to 71 a day" in text
    assert "its own extra takedowns and limits after the change account for 83% of the excess" in (
        text
    )
    assert "(183 extra violating listings; the excess is 220 over the expected 300)" in text
    assert "Review that change first" in text
    assert "Vietnam × Electronics (+3.0 points, mainly because its own rate changed)" in text
    assert "concentrated" in text
    assert not JARGON.search(text)


def test_summary_without_an_explaining_change_points_at_the_marketplace():
    attack = summarize_incident(INCIDENT, [SEGMENT], [])
    assert "No change to our detection strategies precedes it" in attack
    assert "coordinated attack" in attack
    small = dict(CHANGE, strategy_excess_events=11.0, excess_share=0.05, is_likely_cause=False)
    text = summarize_incident(INCIDENT, [SEGMENT], [small])
    assert "No change of ours precedes it and explains it" in text
    assert "its own actions after the change account for 5% of the excess" in text
    elsewhere = dict(CHANGE, feeds_metric=False, excess_share=None, is_likely_cause=False)
    text += summarize_incident(INCIDENT, [SEGMENT], [elsewhere])
    assert "its strategy's actions do not count in this metric" in text
    assert not JARGON.search(attack + text)


def test_summary_of_a_broad_fall_says_it_is_spread_and_falls():
    incident = dict(INCIDENT, direction="down", attributed_change=-0.03, peak_value=0.009)
    segment = dict(SEGMENT, contribution=-0.003, rate_effect=-0.001, mix_effect=-0.002)
    text = summarize_incident(incident, [segment], [])
    assert " fell " in text
    assert "spread across many segments" in text
    assert "mainly because its share of the volume changed" in text


def test_summaries_are_keyed_by_incident_and_follow_the_ranks():
    incidents = pd.DataFrame([INCIDENT])
    segments = pd.DataFrame(
        [
            dict(SEGMENT, incident_id=INCIDENT["incident_id"], segment_rank=2, region_name="Laos"),
            dict(SEGMENT, incident_id=INCIDENT["incident_id"], segment_rank=1),
        ]
    )
    changes = pd.DataFrame([dict(CHANGE, incident_id=INCIDENT["incident_id"], change_rank=1)])
    out = summarize_incidents(incidents, segments, changes)
    assert list(out["incident_id"]) == [INCIDENT["incident_id"]]
    summary = out["summary"].iloc[0]
    assert summary.index("Vietnam × Electronics") < summary.index("Laos × Electronics")


def test_terminal_rendering_lists_each_open_incident_or_says_none():
    assert format_incidents([], report_date=pd.Timestamp("2026-06-30").date()) == (
        "Open incidents on 30 Jun 2026: none."
    )
    incident = dict(
        INCIDENT,
        report_date=pd.Timestamp("2026-04-29").date(),
        top_segments="VN × electronics",
        strategy_changes="CH0020 (ST005 threshold_change on 2026-04-27)",
        summary="Listing violation rate rose.",
    )
    text = format_incidents([incident])
    assert text.splitlines()[0] == "Open incidents on 29 Apr 2026: 1"
    assert "[MEDIUM] listing_violation_rate · ALL × ALL" in text
    assert "strategy changes: CH0020 (ST005 threshold_change on 2026-04-27)" in text
