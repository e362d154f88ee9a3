"""North-star overview: every metric's trend by day, ISO week, calendar month or trailing 7 days
(rates from summed counts, from `metric_rates`), with its 95% band, target, anomaly flags and the
strategy changes that could explain its moves; tiles that compare like periods and give each
metric's status against its target. The filters are kept in the URL."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from governance.dashboard import charts, compare, data, ui

GRAIN_LABELS = {
    "week": "Weekly",
    "month": "Monthly",
    "rolling_7_days": "Rolling 7 days",
    "day": "Daily",
}
DEFAULT_GRAIN = "week"
PRODUCER = "the governance marts (models/marts/governance/)"


def _segment_label(codes: pd.DataFrame, everything: str):
    names = dict(zip(codes["code"], codes["name"], strict=True))
    return lambda code: everything if code == data.ALL else f"{names.get(code, code)} ({code})"


def _tile(row, series: pd.DataFrame, grain: str) -> str | None:
    """One metric's tile: latest final period, change against the like period before (coloured
    only when the intervals say it is real) and status against target. Returns the status."""
    latest, previous = compare.latest_and_previous(series, grain)
    with st.container(border=True):
        if latest is None:
            st.metric(row.metric_label, "–", help="No complete, mature period in range.")
            ui.status_badge(None)
            st.caption("No complete, mature period in the dates chosen.")
            return None
        delta, colour, against, verdict = None, "off", None, "nothing to compare with"
        if previous is not None:
            change = (latest["value"] - previous["value"]) * 100
            delta = f"{change:+.2f} pp"
            real = compare.change_is_real(latest, previous)
            lower_is_better = row.direction_is_good == "down"
            colour = ("inverse" if lower_is_better else "normal") if real else "off"
            against = f"vs {ui.percent(previous['value'])}"
            verdict = "a real change" if real else "within noise"
        period = (
            ui.day(latest["period_start"])
            if latest["period_start"] == latest["period_end"]
            else f"{ui.day(latest['period_start'])} – {ui.day(latest['period_end'])}"
        )
        st.metric(
            row.metric_label,
            ui.percent(latest["value"]),
            delta=delta,
            delta_color=colour,
            delta_description=against,
            help=(
                f"{period} (latest complete, mature {compare.PERIOD_NAMES[grain]}). 95% interval "
                f"{ui.percent(latest['ci_lower'])} – {ui.percent(latest['ci_upper'])}, "
                f"{ui.count(row.metric_name, latest['numerator'])} of "
                f"{ui.count(row.metric_name, latest['denominator'])}. Target "
                f"{ui.percent(row.target_value, 1)}. A change is coloured only when the two "
                "periods' 95% intervals do not overlap."
            ),
        )
        ui.status_badge(latest["target_status"])
        st.caption(
            f"{period} · target {ui.percent(row.target_value, 1)}  \n"
            f"Change on {compare.PREVIOUS_PERIOD[grain]}: {verdict}"
        )
        return latest["target_status"]


def _off_target(definitions: pd.DataFrame, latest: dict[str, pd.Series]) -> None:
    """The metrics whose latest final period misses its target."""
    lines = {"off_target": [], "near_target": []}
    for row in definitions.itertuples(index=False):
        period = latest.get(row.metric_name)
        if period is None or period["target_status"] not in lines:
            continue
        lines[period["target_status"]].append(
            f"- **{row.metric_label}** {ui.percent(period['value'])} "
            f"({ui.percent(period['ci_lower'])} – {ui.percent(period['ci_upper'])}) against a "
            f"target of {ui.percent(row.target_value, 1)}, {ui.day(period['period_start'])}"
        )
    if lines["off_target"]:
        st.warning(
            "**Metrics off target** (the whole 95% interval is on the wrong side):\n"
            + "\n".join(lines["off_target"]),
            icon=":material/warning:",
        )
    if lines["near_target"]:
        st.caption(
            "Near target (worse than the target, but within noise of it): "
            + "; ".join(line.removeprefix("- ").replace("**", "") for line in lines["near_target"])
        )
    if not lines["off_target"] and not lines["near_target"]:
        st.success("Every metric is on target.", icon=":material/check_circle:")


def _filters(wh: data.Warehouse, options: dict) -> tuple[str, str, str, bool]:
    regions = [data.ALL, *options["region"]["code"]]
    categories = [data.ALL, *options["category"]["code"]]
    ui.from_url("overview_region", "region", data.ALL, allowed=regions)
    ui.from_url("overview_category", "category", data.ALL, allowed=categories)
    ui.from_url("overview_grain", "grain", DEFAULT_GRAIN, allowed=list(GRAIN_LABELS))
    ui.from_url("overview_final_only", "final", True, parse=lambda v: v != "0")
    cells = st.columns([1.0, 1.0, 2.2, 0.9], vertical_alignment="bottom", gap="medium")
    region = cells[0].selectbox(
        "Region",
        regions,
        format_func=_segment_label(options["region"], "All regions"),
        key="overview_region",
    )
    category = cells[1].selectbox(
        "Category",
        categories,
        format_func=_segment_label(options["category"], "All categories"),
        key="overview_category",
    )
    grain = cells[2].segmented_control(
        "Grain",
        list(GRAIN_LABELS),
        format_func=GRAIN_LABELS.get,
        key="overview_grain",
        help="Weeks are ISO weeks (Monday to Sunday), months calendar months. A period's rate "
        "is the ratio of its summed counts, with the interval of those sums.",
    )
    final_only = cells[3].toggle(
        "Final only",
        key="overview_final_only",
        help="Hide periods not yet complete (the current week or month, a first period that "
        "starts before the data) or not yet mature (outcomes still arriving, e.g. 7 days for "
        "listings). Off: such periods are dashed.",
    )
    return region, category, grain or DEFAULT_GRAIN, final_only


def render() -> None:
    wh = ui.warehouse()
    info = ui.guarded(wh, "warehouse_info")
    definitions = ui.guarded(wh, "metric_definitions")
    options = ui.guarded(wh, "segment_options")
    ui.header(
        "North-star metrics",
        f"Reporting date {info['as_of_date'] or 'unknown'} · rates from summed counts with "
        "Wilson 95% intervals · anomaly flags from `metric_anomalies` · targets and labels "
        "from the metric registry",
    )
    region, category, grain, final_only = _filters(wh, options)
    rates = ui.guarded(wh, "metric_rates", grain, region, category)
    if rates is None:
        ui.not_built(data.METRIC_RATES, PRODUCER)
        return
    rates = compare.with_period_date(rates, grain)
    if rates.empty:
        st.write("No rate for this segment.")
        return
    bounds = ui.guarded(wh, "metric_date_bounds")
    start, end = ui.date_range_from_url("overview_range", bounds)
    chosen = st.date_input(
        "Dates",
        min_value=bounds[0],
        max_value=bounds[1],
        key="overview_range",
        help="The periods shown are those that overlap these dates; the tiles compare the "
        "latest complete, mature one.",
    )
    if isinstance(chosen, tuple) and len(chosen) == 2:
        start, end = chosen
    ui.keep_in_url(
        {
            "region": None if region == data.ALL else region,
            "category": None if category == data.ALL else category,
            "grain": None if grain == DEFAULT_GRAIN else grain,
            "final": None if final_only else "0",
            "from": None if start == bounds[0] else start.isoformat(),
            "to": None if end == bounds[1] else end.isoformat(),
        }
    )
    rates = rates[compare.overlapping(rates, start, end)]

    latest: dict[str, pd.Series] = {}
    cards = [card for _ in range(0, len(definitions), 3) for card in st.columns(3, gap="small")]
    for card, row in zip(cards, definitions.itertuples(index=False), strict=False):
        series = rates[rates["metric_name"] == row.metric_name]
        with card:
            _tile(row, series, grain)
        found, _ = compare.latest_and_previous(series, grain)
        if found is not None:
            latest[row.metric_name] = found
    _off_target(definitions, latest)
    _trends(wh, definitions, rates, grain, region, category, final_only, (start, end))


def _trends(
    wh: data.Warehouse,
    definitions: pd.DataFrame,
    rates: pd.DataFrame,
    grain: str,
    region: str,
    category: str,
    final_only: bool,
    dates: tuple[date, date],
) -> None:
    """A trend chart per metric (two a row) with its anomalies and strategy changes, then the
    anomalies and the changes of the range as tables."""
    shown = rates[rates["is_final"]] if final_only else rates
    anomalies = ui.guarded(wh, "anomaly_flags", region, category)
    changes = _strategy_changes_in(wh, dates)
    st.markdown(charts.legend_html(), unsafe_allow_html=True)
    grid = st.columns(2, gap="medium")
    for i, row in enumerate(definitions.itertuples(index=False)):
        with grid[i % 2], st.container(border=True):
            _trend_tile(row, shown, anomalies, changes, grain)
    _anomaly_table(anomalies, dates)
    if not changes.empty:
        _change_table(changes)


def _strategy_changes_in(wh: data.Warehouse, dates: tuple[date, date]) -> pd.DataFrame:
    changes = ui.guarded(wh, "strategy_change_marks")
    if changes is None:
        changes = pd.DataFrame(
            columns=["metric_name", "change_date", "strategy_name", "change_type"]
        )
    return changes[
        pd.to_datetime(changes["change_date"]).between(
            pd.Timestamp(dates[0]), pd.Timestamp(dates[1])
        )
    ]


def _trend_tile(row, shown: pd.DataFrame, anomalies, changes: pd.DataFrame, grain: str) -> None:
    """One metric's trend chart and a caption of what it shows."""
    series = shown[shown["metric_name"] == row.metric_name].reset_index(drop=True)
    flags = compare.anomalies_by_period(
        anomalies[anomalies["metric_name"] == row.metric_name], series, grain
    )
    marks = changes[changes["metric_name"] == row.metric_name].reset_index(drop=True)
    chart = charts.metric_trend(
        series,
        flags,
        marks,
        metric_name=row.metric_name,
        label=row.metric_label,
        target=None if pd.isna(row.target_value) else float(row.target_value),
        lower_is_better=row.direction_is_good == "down",
        period_label=compare.PERIOD_NAMES[grain],
    )
    st.altair_chart(chart, width="stretch", key=f"trend_{row.metric_name}")
    n_flags = len(flags)
    st.caption(
        f"{len(series):,} {GRAIN_LABELS[grain].lower()} periods · {n_flags} "
        f"period{'' if n_flags == 1 else 's'} with an anomaly · {len(marks)} strategy "
        f"change{'' if len(marks) == 1 else 's'} · owner `{row.owner}` · cohort: "
        f"{row.cohort}"
    )


def _anomaly_table(anomalies: pd.DataFrame, dates: tuple[date, date]) -> None:
    in_range = anomalies[
        pd.to_datetime(anomalies["metric_date"]).between(
            pd.Timestamp(dates[0]), pd.Timestamp(dates[1])
        )
    ]
    with st.expander(f"Flagged anomalies in this segment and range ({len(in_range)})"):
        if in_range.empty:
            st.write("No anomaly flagged for this segment in the range.")
            return
        ui.table(
            in_range.sort_values("metric_date", ascending=False),
            [
                "metric_name",
                "metric_date",
                "value",
                "expected_value",
                "relative_change",
                "direction",
                "severity",
                "q_value",
            ],
            config=ui.ANOMALY_COLUMN_CONFIG,
        )


def _change_table(changes: pd.DataFrame) -> None:
    with st.expander(f"Strategy changes marked on the charts ({changes['change_id'].nunique()})"):
        ui.table(
            changes.drop_duplicates("change_id").sort_values("change_date", ascending=False),
            ["change_date", "strategy_name", "change_type", "change_description"],
            config={
                "change_date": st.column_config.DateColumn("day"),
                "change_type": "change",
                "change_description": "what changed",
            },
        )
