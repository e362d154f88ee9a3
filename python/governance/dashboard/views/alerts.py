"""Alerts (metric incidents) and the root-cause breakdown of each move."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from governance.dashboard import charts, data, ui

PRODUCER = "the monitoring marts (models/marts/monitoring/)"
TOP_SEGMENTS = 12
BREAKDOWN_COLUMNS = (
    "segment",
    "contribution",
    "mix_effect",
    "rate_effect",
    "rate_before",
    "rate_after",
)


def _recent_flags(wh: data.Warehouse) -> None:
    flags = ui.guarded(wh, "recent_anomalies")
    st.subheader("Latest anomaly flags", divider="gray")
    st.caption("From `metric_anomalies` (is_anomaly), every segment, newest first.")
    if flags.empty:
        st.write("No anomaly is flagged in this warehouse.")
        return
    st.dataframe(
        flags,
        hide_index=True,
        column_config={
            "metric_date": st.column_config.DateColumn("day"),
            "value": st.column_config.NumberColumn(format="percent"),
            "expected_value": st.column_config.NumberColumn("expected", format="percent"),
            "lower_bound": None,
            "upper_bound": None,
            "relative_change": st.column_config.NumberColumn("change", format="percent"),
            "p_value": st.column_config.NumberColumn("p-value", format="%.1e"),
            "q_value": st.column_config.NumberColumn("q-value", format="%.1e"),
        },
    )


def _in_scope(frame: pd.DataFrame, region: str, category: str) -> pd.DataFrame:
    """Segments inside the incident's anchor (all of them for an ALL x ALL anchor)."""
    keep = pd.Series(True, index=frame.index)
    if region != data.ALL:
        keep &= frame["region"] == region
    if category != data.ALL:
        keep &= frame["category"] == category
    return frame[keep]


def _root_cause(wh: data.Warehouse, alert: pd.Series) -> None:
    st.subheader("Root-cause breakdown", divider="gray")
    comparison = st.segmented_control(
        "Compared with",
        list(data.COMPARISONS),
        default=data.COMPARISONS[0],
        format_func=lambda c: c.replace("_", " "),
        key="alerts_comparison",
    )
    comparison = comparison or data.COMPARISONS[0]
    frame = ui.guarded(
        wh, "movement_attribution", alert["metric_name"], alert["peak_date"], comparison
    )
    if frame is None:
        ui.not_built(data.METRIC_MOVEMENT_ATTRIBUTION, PRODUCER)
        return
    if frame.empty:
        st.write(f"No attribution for {ui.day(alert['peak_date'])} ({comparison}).")
        return
    first = frame.iloc[0]
    st.caption(
        f"{alert['metric_label']} on its peak day {ui.day(first['metric_date'])}: "
        f"{ui.percent(first['value_before'])} on {ui.day(first['comparison_date'])} → "
        f"{ui.percent(first['value_after'])} ({first['total_change'] * 100:+.2f} pp), "
        "split into each region × category segment's mix and rate effects."
    )
    scoped = _in_scope(frame, alert["anchor_region"], alert["anchor_category"])
    top = (
        scoped.assign(size=scoped["contribution"].abs())
        .nlargest(TOP_SEGMENTS, "size")
        .drop(columns="size")
        .assign(segment=lambda f: f["region"] + " × " + f["category"])
        .reset_index(drop=True)
    )
    left, right = st.columns([1.0, 1.0], gap="medium")
    with left, st.container(border=True):
        st.altair_chart(charts.contribution_bars(top), width="stretch", key="attribution")
    with right:
        st.dataframe(
            top[list(BREAKDOWN_COLUMNS)],
            hide_index=True,
            column_config={
                "segment": st.column_config.TextColumn(width="medium"),
                "contribution": st.column_config.NumberColumn("total", format="percent"),
                "mix_effect": st.column_config.NumberColumn("mix", format="percent"),
                "rate_effect": st.column_config.NumberColumn("rate", format="percent"),
                "rate_before": st.column_config.NumberColumn("before", format="percent"),
                "rate_after": st.column_config.NumberColumn("after", format="percent"),
            },
        )


def render() -> None:
    wh = ui.warehouse()
    ui.header(
        "Alerts and root causes",
        "Incidents raised on north-star metric moves (runs of anomalous days, related segments "
        "grouped under one anchor) and which segments and strategy changes explain each move.",
    )
    alerts = ui.guarded(wh, "alerts")
    if alerts is None:
        ui.not_built(data.ALERTS, PRODUCER)
        _recent_flags(wh)
        return

    stats = st.columns(4)
    stats[0].metric("Incidents", f"{len(alerts):,}", border=True)
    stats[1].metric("Open", f"{int(alerts['is_open'].sum()):,}", border=True)
    severe = alerts["severity"].isin(["high", "critical"]).sum()
    stats[2].metric("High or critical", f"{int(severe):,}", border=True)
    stats[3].metric("Metrics affected", f"{alerts['metric_name'].nunique():,}", border=True)
    if alerts.empty:
        st.success("No incident in this warehouse.", icon=":material/check_circle:")
        _recent_flags(wh)
        return

    open_only = st.toggle("Open incidents only", value=False, key="alerts_open_only")
    shown = alerts[alerts["is_open"]] if open_only else alerts
    st.dataframe(
        shown,
        hide_index=True,
        column_order=[
            "is_open",
            "metric_label",
            "anchor_region",
            "anchor_category",
            "first_day",
            "last_day",
            "severity",
            "direction",
            "peak_value",
            "peak_expected_value",
            "top_segments",
            "strategy_changes",
        ],
        column_config={
            "is_open": st.column_config.CheckboxColumn("open"),
            "metric_label": "metric",
            "anchor_region": "region",
            "anchor_category": "category",
            "first_day": st.column_config.DateColumn("first day"),
            "last_day": st.column_config.DateColumn("last day"),
            "peak_value": st.column_config.NumberColumn("peak", format="percent"),
            "peak_expected_value": st.column_config.NumberColumn("expected", format="percent"),
            "top_segments": "top segments",
            "strategy_changes": "coinciding strategy changes",
        },
    )
    if shown.empty:
        st.write("No open incident.")
        return

    labels = {
        row.incident_id: (
            f"{row.metric_label} · {row.anchor_region} × {row.anchor_category} · "
            f"{ui.day(row.first_day)} · {row.severity}{' · open' if row.is_open else ''}"
        )
        for row in shown.itertuples(index=False)
    }
    chosen = st.selectbox("Incident", list(labels), format_func=labels.get, key="alerts_incident")
    alert = shown[shown["incident_id"] == chosen].iloc[0]
    if isinstance(alert["summary"], str) and alert["summary"]:
        st.info(alert["summary"], icon=":material/campaign:")
    _root_cause(wh, alert)
