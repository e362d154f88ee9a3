"""Alerts (metric incidents), the root-cause breakdown of each move and the sellers behind it
(``/alerts?incident_id=...``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from governance import metric_registry
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
    ui.table(
        flags,
        [
            "metric_name",
            "metric_date",
            "region",
            "category",
            "value",
            "expected_value",
            "relative_change",
            "direction",
            "severity",
            "p_value",
            "q_value",
        ],
        config=ui.ANOMALY_COLUMN_CONFIG,
    )


def _in_scope(frame: pd.DataFrame, region: str, category: str) -> pd.DataFrame:
    """Segments inside the incident's anchor (all of them for an ALL x ALL anchor)."""
    keep = pd.Series(True, index=frame.index)
    if region != data.ALL:
        keep &= frame["region"] == region
    if category != data.ALL:
        keep &= frame["category"] == category
    return frame[keep]


def _segment_names(wh: data.Warehouse) -> dict[str, str]:
    options = ui.guarded(wh, "segment_options")
    names = {data.ALL: "All"}
    for frame in options.values():
        names |= dict(zip(frame["code"], frame["name"], strict=True))
    return names


def _root_cause(wh: data.Warehouse, alert: pd.Series) -> None:
    st.subheader("Root-cause breakdown", divider="gray")
    ui.from_url("alerts_comparison", "comparison", data.COMPARISONS[0], allowed=data.COMPARISONS)
    comparison = st.segmented_control(
        "Compared with",
        list(data.COMPARISONS),
        format_func=lambda c: c.replace("_", " "),
        key="alerts_comparison",
    )
    comparison = comparison or data.COMPARISONS[0]
    ui.keep_in_url({"comparison": None if comparison == data.COMPARISONS[0] else comparison})
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
    names = _segment_names(wh)
    top = (
        scoped.assign(size=scoped["contribution"].abs())
        .nlargest(TOP_SEGMENTS, "size")
        .drop(columns="size")
        .assign(
            segment=lambda f: [
                f"{names.get(r, r)} · {names.get(c, c)}"
                for r, c in zip(f["region"], f["category"], strict=True)
            ]
        )
        .reset_index(drop=True)
    )
    left, right = st.columns([1.0, 1.0], gap="medium")
    with left, st.container(border=True):
        st.altair_chart(charts.contribution_bars(top), width="stretch", key="attribution")
    with right:
        ui.table(
            top,
            list(BREAKDOWN_COLUMNS),
            config={
                "segment": st.column_config.TextColumn("segment", width="medium"),
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
    ui.from_url("alerts_incident", "incident_id", list(labels)[0], allowed=list(labels))
    chosen = st.selectbox("Incident", list(labels), format_func=labels.get, key="alerts_incident")
    ui.keep_in_url({"incident_id": chosen})
    alert = shown[shown["incident_id"] == chosen].iloc[0]
    if isinstance(alert["summary"], str) and alert["summary"]:
        st.info(alert["summary"], icon=":material/campaign:")
    _root_cause(wh, alert)
    _sellers(wh, alert)


def _sellers(wh: data.Warehouse, alert: pd.Series) -> None:
    """The sellers with the most records counted in the metric over the incident."""
    st.subheader("Sellers behind the incident", divider="gray")
    sellers = ui.guarded(
        wh,
        "incident_sellers",
        alert["metric_name"],
        alert["anchor_region"],
        alert["anchor_category"],
        alert["first_day"],
        alert["last_day"],
    )
    if sellers is None or sellers.empty:
        st.write("No seller has a record counted in this metric over the incident.")
        return
    metric = metric_registry.load().metric(alert["metric_name"])
    counted = metric_registry.AMOUNT_UNITS[metric.count_unit][2] if metric.is_amount else "records"
    st.caption(
        f"Sellers with the most {counted} counted in {alert['metric_label']} in "
        f"{alert['anchor_region']} × {alert['anchor_category']} from {ui.day(alert['first_day'])} "
        f"to {ui.day(alert['last_day'])}; open a seller's case page from its id."
    )
    ui.table(
        ui.seller_links(sellers.assign(share=sellers["n_records"] / sellers["n_cohort"])),
        ["seller_link", "n_records", "n_cohort", "share"],
        config={
            "seller_link": ui.SELLER_LINK,
            "n_records": f"counted ({counted})",
            "n_cohort": f"in the cohort ({counted})",
            "share": st.column_config.NumberColumn(f"share of its {counted}", format="percent"),
        },
    )
