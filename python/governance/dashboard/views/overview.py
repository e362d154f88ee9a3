"""North-star overview: every metric's trend with its 95% band, target and anomaly flags."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from governance.dashboard import charts, data, ui

PERIODS = {"All days": None, "Last 90 days": 90, "Last 30 days": 30}


def _segment_label(codes: pd.DataFrame, everything: str):
    names = dict(zip(codes["code"], codes["name"], strict=True))
    return lambda code: everything if code == data.ALL else f"{names.get(code, code)} ({code})"


def _kpis(series: pd.DataFrame, definitions: pd.DataFrame) -> None:
    """Latest mature value per metric, change over a week and a 30-day sparkline."""
    mature = series[series["is_mature"] & series["value"].notna()]
    per_row = 3
    cards = [
        card
        for _ in range(0, len(definitions), per_row)
        for card in st.columns(per_row, gap="small")
    ]
    for card, row in zip(cards, definitions.itertuples(index=False), strict=False):
        history = mature[mature["metric_name"] == row.metric_name].sort_values("metric_date")
        with card:
            if history.empty:
                st.metric(row.metric_label, "–", border=True, help="No mature day in range.")
                continue
            latest = history.iloc[-1]
            week_ago = history[
                history["metric_date"] <= latest["metric_date"] - pd.Timedelta(7, "D")
            ]
            delta, change = None, 0.0
            if not week_ago.empty:
                change = round((latest["value"] - week_ago.iloc[-1]["value"]) * 100, 2)
                delta = f"{change:+.2f} pp" if change else "0.00 pp"
            lower_is_better = row.direction_is_good == "down"
            st.metric(
                row.metric_label,
                ui.percent(latest["value"]),
                delta=delta,
                delta_color=("off" if not change else ("inverse" if lower_is_better else "normal")),
                border=True,
                delta_description=f"vs a week earlier · target {ui.percent(row.target_value, 1)}",
                help=(
                    f"{latest['metric_date']:%Y-%m-%d} (latest mature day). 95% interval "
                    f"{ui.percent(latest['ci_lower'])} – {ui.percent(latest['ci_upper'])}, "
                    f"n = {latest['denominator']:,.0f}. Target {ui.percent(row.target_value, 1)}."
                ),
            )


def render() -> None:
    wh = ui.warehouse()
    info = ui.guarded(wh, "warehouse_info")
    definitions = ui.guarded(wh, "metric_definitions")
    options = ui.guarded(wh, "segment_options")

    ui.header(
        "North-star metrics",
        f"Reporting date {info['as_of_date'] or 'unknown'} · daily cohorts with Wilson 95% "
        "intervals · anomaly flags from `metric_anomalies` · targets from the metric glossary",
    )

    regions = [data.ALL, *options["region"]["code"]]
    categories = [data.ALL, *options["category"]["code"]]
    filters = st.columns([1.2, 1.2, 1.0, 1.1], vertical_alignment="bottom", gap="medium")
    region = filters[0].selectbox(
        "Region",
        regions,
        format_func=_segment_label(options["region"], "All regions"),
        key="overview_region",
    )
    category = filters[1].selectbox(
        "Category",
        categories,
        format_func=_segment_label(options["category"], "All categories"),
        key="overview_category",
    )
    period = filters[2].selectbox("Period", list(PERIODS), key="overview_period")
    mature_only = filters[3].toggle(
        "Mature days only",
        value=True,
        key="overview_mature_only",
        help="Hide days whose outcome window (e.g. 7 days for listings) has not closed yet: "
        "their values still rise as late outcomes arrive. Off: such days are dashed.",
    )

    series = ui.guarded(wh, "metric_series", region, category, mature_only)
    anomalies = ui.guarded(wh, "anomaly_flags", region, category)
    days = PERIODS[period]
    if days is not None and not series.empty:
        start = series["metric_date"].max() - pd.Timedelta(days - 1, "D")
        series = series[series["metric_date"] >= start]
        anomalies = anomalies[anomalies["metric_date"] >= start]

    shown = definitions
    kpi_series = series if mature_only else ui.guarded(wh, "metric_series", region, category)
    _kpis(kpi_series, shown)

    grid = st.columns(2, gap="medium")
    for i, row in enumerate(shown.itertuples(index=False)):
        metric_rows = series[series["metric_name"] == row.metric_name].reset_index(drop=True)
        flags = anomalies[anomalies["metric_name"] == row.metric_name].reset_index(drop=True)
        chart = charts.metric_trend(
            metric_rows,
            flags,
            metric_name=row.metric_name,
            label=row.metric_label,
            target=None if pd.isna(row.target_value) else float(row.target_value),
            lower_is_better=row.direction_is_good == "down",
        )
        with grid[i % 2], st.container(border=True):
            st.altair_chart(chart, width="stretch", key=f"trend_{row.metric_name}")
            n_flags = len(flags)
            st.caption(
                f"{len(metric_rows):,} days · {n_flags} anomal{'y' if n_flags == 1 else 'ies'} "
                f"flagged · owner `{row.owner}` · cohort: {row.cohort}"
            )

    segment_flags = anomalies
    with st.expander(f"Flagged anomalies in this segment ({len(segment_flags)})"):
        if segment_flags.empty:
            st.write("No anomaly flagged for this segment in the period.")
        else:
            st.dataframe(
                segment_flags.sort_values("metric_date", ascending=False),
                hide_index=True,
                column_config={
                    "metric_date": st.column_config.DateColumn("day"),
                    "value": st.column_config.NumberColumn(format="percent"),
                    "expected_value": st.column_config.NumberColumn("expected", format="percent"),
                    "lower_bound": None,
                    "upper_bound": None,
                    "region": None,
                    "category": None,
                },
            )
