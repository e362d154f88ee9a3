"""Altair charts of the dashboard: pure functions from DataFrames to chart specifications."""

from __future__ import annotations

import altair as alt
import pandas as pd

INK = "#1f2a44"
LINE = "#2563eb"
BAND = "#93c5fd"
TARGET = "#059669"
MUTED = "#94a3b8"
ALERT_UP = "#dc2626"
ALERT_DOWN = "#7c3aed"
CONFIRMED = "#b91c1c"
UNCONFIRMED = "#fca5a5"
SHADOW = "#f59e0b"
LIVE = "#2563eb"

SEVERITY_SIZE = {"low": 70, "medium": 110, "high": 160, "critical": 220}


def metric_trend(
    series: pd.DataFrame,
    anomalies: pd.DataFrame,
    *,
    metric_name: str,
    label: str,
    target: float | None,
    lower_is_better: bool = True,
    height: int = 230,
) -> alt.LayerChart:
    """Daily value with its Wilson 95% band, the target as a rule and flagged anomalies.

    Layers, in order: ``area`` (ci_lower..ci_upper), ``rule`` (target), ``line`` (value, dashed
    on days whose maturity window is still open) and ``point`` (anomalies).
    """
    x = alt.X("metric_date:T", title=None, axis=alt.Axis(format="%b %d", labelColor=INK))
    y_axis = alt.Axis(format=".1%", title=None, labelColor=INK, tickCount=5)
    base = alt.Chart(series)

    band = base.mark_area(opacity=0.28, color=BAND).encode(
        x=x,
        y=alt.Y("ci_lower:Q", axis=y_axis, scale=alt.Scale(zero=False, nice=True)),
        y2="ci_upper:Q",
    )
    target_frame = pd.DataFrame({"target_value": [] if target is None else [float(target)]})
    target_rule = (
        alt.Chart(target_frame)
        .mark_rule(color=TARGET, strokeDash=[6, 4], strokeWidth=1.6)
        .encode(
            y="target_value:Q",
            tooltip=[alt.Tooltip("target_value:Q", title="target", format=".2%")],
        )
    )
    line = base.mark_line(
        color=LINE,
        strokeWidth=1.8,
        point=alt.OverlayMarkDef(color=LINE, size=40, filled=True, opacity=0),
    ).encode(
        x=x,
        y="value:Q",
        strokeDash=alt.StrokeDash(
            "is_mature:N",
            scale=alt.Scale(domain=[True, False], range=[[1, 0], [4, 3]]),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("metric_date:T", title="day", format="%Y-%m-%d"),
            alt.Tooltip("value:Q", title="value", format=".2%"),
            alt.Tooltip("ci_lower:Q", title="95% CI low", format=".2%"),
            alt.Tooltip("ci_upper:Q", title="95% CI high", format=".2%"),
            alt.Tooltip("numerator:Q", title="numerator", format=",.0f"),
            alt.Tooltip("denominator:Q", title="denominator", format=",.0f"),
            alt.Tooltip("is_mature:N", title="mature"),
        ],
    )
    flags = anomalies.assign(
        marker_size=anomalies["severity"].map(SEVERITY_SIZE).fillna(90).astype(float)
    )
    points = (
        alt.Chart(flags)
        .mark_point(filled=True, opacity=0.95, stroke="white", strokeWidth=1)
        .encode(
            x="metric_date:T",
            y="value:Q",
            color=alt.Color(
                "direction:N",
                scale=alt.Scale(domain=["up", "down"], range=[ALERT_UP, ALERT_DOWN]),
                legend=None,
            ),
            shape=alt.Shape(
                "direction:N",
                scale=alt.Scale(domain=["up", "down"], range=["triangle-up", "triangle-down"]),
                legend=None,
            ),
            size=alt.Size("marker_size:Q", scale=None, legend=None),
            tooltip=[
                alt.Tooltip("metric_date:T", title="anomaly on", format="%Y-%m-%d"),
                alt.Tooltip("value:Q", title="value", format=".2%"),
                alt.Tooltip("expected_value:Q", title="expected", format=".2%"),
                alt.Tooltip("severity:N", title="severity"),
                alt.Tooltip("q_value:Q", title="q-value", format=".2g"),
            ],
        )
    )
    goal = "lower is better" if lower_is_better else "higher is better"
    subtitle = f"target {target:.1%} · {goal}" if target is not None else goal
    return (
        alt.layer(band, target_rule, line, points)
        .properties(
            height=height,
            title=alt.TitleParams(
                text=label,
                subtitle=subtitle,
                anchor="start",
                color=INK,
                subtitleColor=MUTED,
                fontSize=15,
            ),
            usermeta={"metric_name": metric_name},
        )
        .configure_view(strokeWidth=0)
        .configure_axis(gridColor="#eef2f7", domainColor="#cbd5e1")
    )


STATUS_COLOURS = {
    "live": LIVE,
    "shadow": SHADOW,
    "retired": MUTED,
    "idle": "#cbd5e1",
    "not_launched": "#e2e8f0",
}


def strategy_precision_recall(frame: pd.DataFrame) -> alt.LayerChart:
    """QA precision against estimated recall per strategy, with both 95% intervals.

    Colour is the strategy's status; shadow-mode strategies (never enforced) are diamonds.
    Layers: ``rule`` (precision interval), ``rule`` (recall interval), ``point``, ``text``.
    """
    data = frame.assign(
        mode=frame["is_shadow_mode"].map({True: "shadow mode", False: "enforcing"}),
        status=frame["strategy_status"],
    )
    statuses = [s for s in STATUS_COLOURS if s in set(data["status"])]
    unit = alt.Scale(domain=[0, 1])
    base = alt.Chart(data)
    x = alt.X("estimated_recall:Q", title="estimated recall", scale=unit, axis=alt.Axis(format="%"))
    y = alt.Y("qa_precision:Q", title="QA precision", scale=unit, axis=alt.Axis(format="%"))
    colour = alt.Color(
        "status:N",
        scale=alt.Scale(domain=statuses, range=[STATUS_COLOURS[s] for s in statuses]),
        legend=alt.Legend(title=None, orient="bottom", symbolOpacity=1, symbolType="circle"),
    )
    precision_ci = base.mark_rule(opacity=0.22, strokeWidth=1).encode(
        x=x, y="qa_precision_ci_lower:Q", y2="qa_precision_ci_upper:Q", color=colour
    )
    recall_ci = base.mark_rule(opacity=0.22, strokeWidth=1).encode(
        y=y, x="recall_ci_lower:Q", x2="recall_ci_upper:Q", color=colour
    )
    points = base.mark_point(filled=True, opacity=0.9, stroke="white", strokeWidth=1).encode(
        x=x,
        y=y,
        color=colour,
        shape=alt.Shape(
            "mode:N",
            scale=alt.Scale(domain=["enforcing", "shadow mode"], range=["circle", "diamond"]),
            legend=None,
        ),
        size=alt.Size("hits_per_day:Q", legend=None, scale=alt.Scale(range=[60, 500])),
        tooltip=[
            alt.Tooltip("strategy_name:N", title="strategy"),
            alt.Tooltip("policy_code:N", title="policy"),
            alt.Tooltip("status:N"),
            alt.Tooltip("qa_precision:Q", title="precision", format=".1%"),
            alt.Tooltip("n_flagged_checks:Q", title="QA samples"),
            alt.Tooltip("estimated_recall:Q", title="recall", format=".1%"),
            alt.Tooltip("n_recall_checks:Q", title="recall checks"),
            alt.Tooltip("hits_per_day:Q", title="hits per day", format=".1f"),
        ],
    )
    labels = base.mark_text(align="left", dx=9, dy=-8, fontSize=11, color=INK).encode(
        x=x, y=y, text="strategy_name:N"
    )
    return (
        alt.layer(precision_ci, recall_ci, points, labels)
        .properties(height=460)
        .configure_view(strokeWidth=0)
    )


def syndicate_sizes(frame: pd.DataFrame, top: int = 15) -> alt.Chart:
    """Largest-risk syndicates as bars: confirmed-bad members and the rest."""
    data = frame.head(top)
    order = list(data["syndicate_id"])
    return (
        alt.Chart(data)
        .transform_calculate(not_confirmed="datum.size - datum.n_confirmed_bad")
        .transform_fold(["n_confirmed_bad", "not_confirmed"], as_=["members", "sellers"])
        .transform_calculate(
            members="datum.members == 'n_confirmed_bad' ? 'confirmed bad' : 'not confirmed'"
        )
        .mark_bar(cornerRadiusEnd=3, height={"band": 0.7})
        .encode(
            y=alt.Y("syndicate_id:N", sort=order, title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("sellers:Q", title="members", stack="zero"),
            color=alt.Color(
                "members:N",
                scale=alt.Scale(
                    domain=["confirmed bad", "not confirmed"], range=[CONFIRMED, UNCONFIRMED]
                ),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("syndicate_id:N", title="syndicate"),
                alt.Tooltip("size:Q", title="members"),
                alt.Tooltip("n_confirmed_bad:Q", title="confirmed bad"),
                alt.Tooltip("n_unenforced_members:Q", title="not enforced"),
                alt.Tooltip("risk_score:Q", title="risk score", format=".2f"),
                alt.Tooltip("shared_signal_summary:N", title="shared signals"),
            ],
        )
        .properties(height=110 + 30 * len(data))
        .configure_view(strokeWidth=0)
    )


def contribution_bars(frame: pd.DataFrame) -> alt.Chart:
    """Each segment's signed contribution to a metric move (rate units), largest on top."""
    return (
        alt.Chart(frame)
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            y=alt.Y(
                "segment:N",
                sort=alt.EncodingSortField("contribution_rank", order="ascending"),
                title=None,
                axis=alt.Axis(labelLimit=220),
            ),
            x=alt.X(
                "contribution:Q", title="contribution to the move", axis=alt.Axis(format="+.1%")
            ),
            color=alt.condition(
                "datum.contribution >= 0", alt.value(ALERT_UP), alt.value(ALERT_DOWN)
            ),
            tooltip=[
                alt.Tooltip("segment:N"),
                alt.Tooltip("contribution:Q", format="+.2%"),
                alt.Tooltip("mix_effect:Q", title="mix effect", format="+.2%"),
                alt.Tooltip("rate_effect:Q", title="rate effect", format="+.2%"),
                alt.Tooltip("rate_before:Q", title="rate before", format=".2%"),
                alt.Tooltip("rate_after:Q", title="rate after", format=".2%"),
                alt.Tooltip("weight_before:Q", title="share before", format=".1%"),
                alt.Tooltip("weight_after:Q", title="share after", format=".1%"),
            ],
        )
        .properties(height=70 + 26 * len(frame))
        .configure_view(strokeWidth=0)
    )


def row_count_bars(frame: pd.DataFrame) -> alt.Chart:
    """Row counts per relation (log scale: staging and intermediate sizes differ by orders)."""
    data = frame.dropna(subset=["row_count"]).assign(
        row_count=lambda f: f["row_count"].astype(float).clip(lower=1)
    )
    return (
        alt.Chart(data)
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            y=alt.Y("table_name:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
            x=alt.X(
                "row_count:Q",
                title="rows (log scale)",
                scale=alt.Scale(type="log"),
                stack=None,
                axis=alt.Axis(format="~s", grid=False),
            ),
            color=alt.Color(
                "schema_name:N",
                scale=alt.Scale(domain=["staging", "intermediate"], range=[MUTED, LINE]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=["schema_name:N", "table_name:N", alt.Tooltip("row_count:Q", format=",")],
        )
        .properties(height=90 + 26 * len(data))
        .configure_view(strokeWidth=0)
    )


def daily_quality(frame: pd.DataFrame) -> alt.Chart:
    """Rows held back per night of arrival, stacked by raw table, one panel per disposition."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(
                "yearmonthdate(arrived_night):O",
                title=None,
                axis=alt.Axis(format="%b %d", labelAngle=0),
            ),
            y=alt.Y("sum(row_count):Q", title="rows held back"),
            color=alt.Color("table_name:N", legend=alt.Legend(title=None, orient="bottom")),
            column=alt.Column("disposition:N", title=None),
            tooltip=[
                alt.Tooltip("arrived_night:T", title="night", format="%Y-%m-%d"),
                "table_name:N",
                "disposition:N",
                alt.Tooltip("sum(row_count):Q", title="rows", format=","),
            ],
        )
        .properties(height=220, width=360)
        .configure_view(strokeWidth=0)
    )
