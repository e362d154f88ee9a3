"""Comparisons the overview page makes, as pure functions over metric_rates rows: which period a
rate is plotted at, which earlier period is like the latest one, whether a change between them
is more than chance, and in which period each anomaly flag falls."""

from __future__ import annotations

import pandas as pd

from governance.severity import SEVERITY_RANK

#: What each grain's tile compares the latest period with.
PREVIOUS_PERIOD = {
    "day": "the same weekday a week earlier",
    "week": "the week before",
    "month": "the month before",
    "rolling_7_days": "the 7 days before",
}
PERIOD_NAMES = {"day": "day", "week": "week", "month": "month", "rolling_7_days": "7 days"}


def with_period_date(rates: pd.DataFrame, grain: str) -> pd.DataFrame:
    """`rates` with ``period_date``, the date a period is plotted at (a week or a month at its
    first day, a day or a trailing window at its last), and ``is_final`` (complete and
    mature: its rate will not change and compares with whole periods)."""
    anchor = "period_start" if grain in ("week", "month") else "period_end"
    return rates.assign(
        period_date=pd.to_datetime(rates[anchor]),
        is_final=rates["is_complete"].astype(bool) & rates["is_mature"].astype(bool),
    )


def overlapping(rates: pd.DataFrame, start, end) -> pd.Series:
    """Which periods overlap the days from `start` to `end` (both included)."""
    return (pd.to_datetime(rates["period_end"]) >= pd.Timestamp(start)) & (
        pd.to_datetime(rates["period_start"]) <= pd.Timestamp(end)
    )


def previous_start(start: pd.Timestamp, grain: str) -> pd.Timestamp:
    """The first day of the period like the one starting on `start`, one step earlier: the
    previous month, else 7 days earlier (the same weekday for days, the preceding week or
    trailing window otherwise)."""
    start = pd.Timestamp(start)
    if grain == "month":
        return start - pd.DateOffset(months=1)
    return start - pd.Timedelta(days=7)


def latest_and_previous(
    series: pd.DataFrame, grain: str
) -> tuple[pd.Series | None, pd.Series | None]:
    """The latest final period with a value and the like period before it (None when absent or
    not final)."""
    final = series[series["is_final"] & series["value"].notna()].sort_values("period_start")
    if final.empty:
        return None, None
    latest = final.iloc[-1]
    wanted = previous_start(latest["period_start"], grain)
    earlier = final[pd.to_datetime(final["period_start"]) == wanted]
    return latest, (earlier.iloc[-1] if not earlier.empty else None)


def change_is_real(latest: pd.Series, previous: pd.Series) -> bool:
    """True when the two periods' 95% intervals do not overlap: the change is more than chance
    (a conservative test; overlapping intervals can still hide a real change)."""
    return bool(
        latest["ci_lower"] > previous["ci_upper"] or latest["ci_upper"] < previous["ci_lower"]
    )


def anomalies_by_period(flags: pd.DataFrame, series: pd.DataFrame, grain: str) -> pd.DataFrame:
    """Each anomaly flag (a day of metric_anomalies) placed on the plotted period that holds
    it, at that period's value; one marker per period, its most severe flag."""
    columns = [*flags.columns, "period_date", "day_value"]
    if flags.empty or series.empty:
        return pd.DataFrame(columns=columns)
    day = pd.to_datetime(flags["metric_date"])
    if grain == "week":
        key = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    elif grain == "month":
        key = day.dt.to_period("M").dt.start_time
    else:
        key = day
    placed = flags.assign(
        period_date=key,
        day_value=flags["value"],
        rank=flags["severity"].map(SEVERITY_RANK).fillna(0),
    ).drop(columns="value")
    merged = placed.merge(series[["period_date", "value"]], on="period_date", how="inner")
    merged = merged.sort_values(["period_date", "rank"], ascending=[True, False])
    return merged.drop_duplicates("period_date").drop(columns="rank").reset_index(drop=True)
