"""Root cause of a metric incident: whether a change of our own detection explains it.

A strategy change may be named as the likely cause of an incident only when

* **mechanism** -- the strategy's actions feed the metric's numerator (``feeds``: the
  strategy-to-metric mapping the warehouse derives from the metrics' counting rules and the
  strategy's target type and policy); a listing rule never explains a complaint surge;
* **time** -- the incident's excess numerator events happened after the change took effect;
* **size** -- the strategy's own extra events after its change account for at least
  ``min_share`` of the incident's excess.

The arithmetic, per incident (metric, anchor series, days ``D`` from its first to its last
anomalous day, direction ``s`` = +1 up, -1 down):

* *baseline*: the last ``baseline_days`` judged days of the anchor series before ``D``, days
  flagged anomalous left out; ``p0`` = their numerators over their denominators;
* *excess* ``X = s * (sum of numerators over D - p0 * sum of denominators over D)``: how many
  numerator events (violating listings, bad sellers, overturned appeals) the move added (or,
  down, removed) against the expected count from before the incident;
* a strategy's *events* are the numerator members its own action put there
  (``int_metric_strategy_events``) in the anchor's segment, each counted by its weight (what it
  adds to the numerator: 1, or its amount for a ratio of sums, so that events and excess are in
  the same unit); an event's *delay* is its action time minus the start of its cohort day;
* after a change at time ``t``, the strategy produced ``O`` events on ``D`` with an action at or
  after ``t``; at its pace before the incident it would have produced
  ``E = sum over d in D of denominator(d) * (baseline events with delay >= t - d) /
  baseline denominators``, the events of its baseline cohorts that came at least as late;
* its *share* of the excess is ``max(0, s * (O - E)) / X``, at most 1 (its extra events can
  outnumber the excess when other events fell at the same time). A change after the excess events
  finds few events after it, as expected, and a share near 0; a strategy that does not feed the
  metric has no events and is not even a candidate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

ALL = "ALL"
DAY = pd.Timedelta(days=1)

CAUSE_COLUMNS = {
    "incident_id": "string",
    "change_id": "string",
    "strategy_id": "string",
    "observed_events": "float64",
    "expected_events": "float64",
    "excess_events": "float64",
    "strategy_events_after": "float64",
    "strategy_expected_after": "float64",
    "strategy_excess_events": "float64",
    "excess_share": "float64",
    "feeds_metric": "bool",
    "is_likely_cause": "bool",
}


@dataclass(frozen=True)
class CauseParams:
    """Settings of the root-cause test, from dbt vars.

    Attributes:
        baseline_days: judged days of the anchor series before the incident that set the
            expected count (the detector's level window, ``anomaly_window_days``).
        min_share: a change is the likely cause when its strategy's extra events account for
            at least this share of the excess (``alert_cause_min_share``).
    """

    baseline_days: int = 28
    min_share: float = 0.5

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> CauseParams:
        values = dict(values or {})
        days = _number(values, "anomaly_window_days", cls.baseline_days, 1, 365)
        share = _number(values, "alert_cause_min_share", cls.min_share, 0.0, 1.0)
        if days != int(days):
            raise ValueError(f"dbt var 'anomaly_window_days' must be a whole number, got {days}")
        return cls(baseline_days=int(days), min_share=float(share))


def _number(values: Mapping[str, Any], name: str, default: float, low: float, high: float):
    raw = values.get(name)
    text = str(default if raw is None or str(raw).strip() == "" else raw).strip()
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(
            f"dbt var '{name}' must be a number between {low} and {high}, got '{text}'"
        )
    return number


def _in_scope(frame: pd.DataFrame, region: str, category: str) -> np.ndarray:
    keep = np.ones(len(frame), dtype=bool)
    if region != ALL:
        keep &= (frame["region"] == region).to_numpy(dtype=bool, na_value=False)
    if category != ALL:
        keep &= (frame["category"] == category).to_numpy(dtype=bool, na_value=False)
    return keep


@dataclass
class _IncidentCounts:
    days: pd.DatetimeIndex  # judged days of the incident
    denominators: np.ndarray  # their denominators
    baseline_days: pd.DatetimeIndex
    baseline_denominator: float
    observed: float
    expected: float
    excess: float
    sign: float


def _incident_counts(incident, series: pd.DataFrame, p: CauseParams) -> _IncidentCounts | None:
    """Observed, expected and excess numerator events of the incident's anchor series; None
    without enough baseline."""
    anchor = series[
        (series["metric_name"] == incident["metric_name"])
        & (series["region"] == incident["anchor_region"])
        & (series["category"] == incident["anchor_category"])
        & (series["denominator"] > 0)
    ].sort_values("metric_date")
    first, last = pd.Timestamp(incident["first_day"]), pd.Timestamp(incident["last_day"])
    during = anchor[(anchor["metric_date"] >= first) & (anchor["metric_date"] <= last)]
    before = anchor[(anchor["metric_date"] < first) & ~anchor["is_anomaly"]]
    before = before.iloc[-p.baseline_days :]
    if during.empty or len(before) < max(p.baseline_days // 4, 1):
        return None
    base_den = float(before["denominator"].sum())
    rate = float(before["numerator"].sum()) / base_den
    observed = float(during["numerator"].sum())
    expected = rate * float(during["denominator"].sum())
    sign = -1.0 if incident.get("direction") == "down" else 1.0
    return _IncidentCounts(
        days=pd.DatetimeIndex(during["metric_date"]),
        denominators=during["denominator"].to_numpy(float),
        baseline_days=pd.DatetimeIndex(before["metric_date"]),
        baseline_denominator=base_den,
        observed=observed,
        expected=expected,
        excess=sign * (observed - expected),
        sign=sign,
    )


def _strategy_after_change(
    counts: _IncidentCounts, events: pd.DataFrame, changed_at: pd.Timestamp
) -> tuple[float, float]:
    """``(O, E)``: the strategy's events on the incident days with an action at or after the
    change, and the number its baseline pace gives for the same delays, each event counted by
    its weight (what it adds to the numerator: 1, or its amount for a ratio of sums)."""
    weights = _weights(events)
    on_days = events["metric_date"].isin(counts.days).to_numpy()
    after = (events["acted_at"] >= changed_at).to_numpy()
    observed = float(weights[on_days & after].sum())
    baseline = events["metric_date"].isin(counts.baseline_days).to_numpy()
    delays = ((events["acted_at"] - events["metric_date"]) / DAY).to_numpy(float)[baseline]
    order = np.argsort(delays, kind="stable")
    delays, baseline_weights = delays[order], weights[baseline][order]
    # Weight of the baseline events with a delay at or above each threshold.
    at_or_above = np.r_[np.cumsum(baseline_weights[::-1])[::-1], 0.0]
    thresholds = ((changed_at - counts.days) / DAY).to_numpy(float)
    later = at_or_above[np.searchsorted(delays, thresholds, side="left")]
    expected = float((counts.denominators * later).sum() / counts.baseline_denominator)
    return observed, expected


def _weights(events: pd.DataFrame) -> np.ndarray:
    """Each event's weight in the numerator (1 when the events carry none)."""
    if "weight" not in events.columns:
        return np.ones(len(events))
    return pd.to_numeric(events["weight"], errors="coerce").fillna(1.0).to_numpy(float)


def _candidates(incidents: pd.DataFrame, interventions: pd.DataFrame) -> pd.DataFrame:
    """Every change ``interventions`` lists for one of an incident's days, once per incident
    (its row on the day closest to the change)."""
    merged = incidents[["incident_id", "metric_name", "first_day", "last_day"]].merge(
        interventions, on="metric_name", how="inner"
    )
    day = pd.to_datetime(merged["metric_date"])
    merged = merged[
        (day >= pd.to_datetime(merged["first_day"])) & (day <= pd.to_datetime(merged["last_day"]))
    ]
    if merged.empty:
        return merged
    merged = merged.assign(
        _distance=(pd.to_datetime(merged["change_date"]) - pd.to_datetime(merged["metric_date"]))
        .abs()
        .dt.days
    )
    merged = merged.sort_values(["incident_id", "change_id", "_distance", "metric_date"])
    return merged.drop_duplicates(["incident_id", "change_id"]).drop(
        columns=["_distance", "metric_date", "first_day", "last_day", "metric_name"]
    )


def attribute_incident_causes(
    incidents: pd.DataFrame,
    interventions: pd.DataFrame,
    series: pd.DataFrame,
    events: pd.DataFrame,
    feeds: pd.DataFrame,
    params: CauseParams | None = None,
) -> pd.DataFrame:
    """One row per incident and candidate strategy change, with its share of the excess.

    Args:
        incidents: ``incident_id, metric_name, anchor_region, anchor_category, first_day,
            last_day, direction`` (int_alert_incidents).
        interventions: candidate changes per metric day (metric_movement_interventions):
            ``metric_name, metric_date, change_id, strategy_id, changed_at, change_date`` and
            any other columns, which are carried through.
        series: judged metric rows (metric_anomalies): ``metric_name, region, category,
            metric_date, numerator, denominator, is_anomaly``.
        events: strategy numerator events (int_metric_strategy_events): ``metric_name,
            metric_date, region, category, strategy_id, acted_at`` and optionally ``weight``
            (what the event adds to the numerator; 1 when absent).
        feeds: ``strategy_id, metric_name`` pairs whose actions feed the metric.
        params: see :class:`CauseParams`.

    Returns:
        The candidate rows with the columns of :data:`CAUSE_COLUMNS` added (see the module
        docstring) and ``change_rank`` (1 = largest share), sorted by incident and rank.
    """
    p = params or CauseParams()
    candidates = _candidates(incidents, interventions)
    if candidates.empty:
        carried = [c for c in interventions.columns if c not in ("metric_name", "metric_date")]
        empty = pd.DataFrame({c: interventions[c].iloc[:0] for c in carried})
        for column, dtype in CAUSE_COLUMNS.items():
            empty[column] = pd.Series(dtype=dtype)
        return empty.assign(change_rank=pd.Series(dtype="int64"))
    series = series.assign(
        metric_date=pd.to_datetime(series["metric_date"]),
        is_anomaly=series["is_anomaly"].fillna(False).astype(bool),
    )
    events = events.assign(
        metric_date=pd.to_datetime(events["metric_date"]),
        acted_at=pd.to_datetime(events["acted_at"]),
    )
    fed = set(zip(feeds["strategy_id"], feeds["metric_name"], strict=True))
    by_id = incidents.set_index("incident_id")
    rows = []
    for cand in candidates.to_dict("records"):
        incident = by_id.loc[cand["incident_id"]]
        metric = incident["metric_name"]
        row = {**cand, "feeds_metric": (cand["strategy_id"], metric) in fed}
        counts = _incident_counts(incident, series, p)
        if counts is not None:
            row.update(
                observed_events=counts.observed,
                expected_events=counts.expected,
                excess_events=counts.excess,
            )
        if counts is not None and row["feeds_metric"] and counts.excess > 0:
            own = events[
                (events["metric_name"] == metric)
                & (events["strategy_id"] == cand["strategy_id"])
                & _in_scope(events, incident["anchor_region"], incident["anchor_category"])
            ]
            observed, expected = _strategy_after_change(
                counts, own, pd.Timestamp(cand["changed_at"])
            )
            extra = max(0.0, counts.sign * (observed - expected))
            row.update(
                strategy_events_after=observed,
                strategy_expected_after=expected,
                strategy_excess_events=extra,
                excess_share=min(extra / counts.excess, 1.0),
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    for column, dtype in CAUSE_COLUMNS.items():
        if column not in out.columns:
            out[column] = np.nan
        if dtype == "float64":
            out[column] = out[column].astype(float)
    out["is_likely_cause"] = out["feeds_metric"] & (out["excess_share"] >= p.min_share)
    out = out.sort_values(
        ["incident_id", "excess_share", "changed_at", "change_id"],
        ascending=[True, False, False, True],
        na_position="last",
    )
    out["change_rank"] = out.groupby("incident_id").cumcount() + 1
    return out.reset_index(drop=True)
