"""Altair charts of the dashboard: pure functions from DataFrames to chart specifications."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from governance.severity import FLAGGED_SEVERITY_LEVELS

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

# Marker area of a flagged day, by severity.
SEVERITY_SIZE = dict(zip(FLAGGED_SEVERITY_LEVELS, (70, 110, 160, 220), strict=True))


CHANGE = "#7c3aed"
FINAL_DASH = {True: [1, 0], False: [4, 3]}


def legend_html() -> str:
    """The key to the trend charts' marks: line, band, dashed periods, target, anomalies and
    strategy changes (one legend for every chart of the page)."""
    items = [
        (f'<line x1="1" y1="7" x2="27" y2="7" stroke="{LINE}" stroke-width="2.2"/>', "rate"),
        (
            f'<rect x="1" y="1" width="26" height="12" fill="{BAND}" fill-opacity="0.45"/>',
            "95% interval",
        ),
        (
            f'<line x1="1" y1="7" x2="27" y2="7" stroke="{LINE}" stroke-width="2" '
            'stroke-dasharray="4 3"/>',
            "period not complete or not mature yet",
        ),
        (
            f'<line x1="1" y1="7" x2="27" y2="7" stroke="{TARGET}" stroke-width="2" '
            'stroke-dasharray="6 4"/>',
            "target",
        ),
        (f'<path d="M14 1 L21 13 L7 13 Z" fill="{ALERT_UP}"/>', "anomaly, up"),
        (f'<path d="M14 13 L21 1 L7 1 Z" fill="{ALERT_DOWN}"/>', "anomaly, down"),
        (
            f'<line x1="14" y1="0" x2="14" y2="14" stroke="{CHANGE}" stroke-width="1.6" '
            'stroke-dasharray="2 2"/>',
            "strategy change that could explain a move",
        ),
    ]
    spans = "".join(
        f'<span style="display:inline-flex;align-items:center;gap:.35rem;margin-right:1.2rem">'
        f'<svg width="28" height="14" aria-hidden="true">{svg}</svg>{text}</span>'
        for svg, text in items
    )
    return f'<div class="governance-legend" style="color:{INK};font-size:.88rem">{spans}</div>'


def metric_trend(
    series: pd.DataFrame,
    anomalies: pd.DataFrame,
    changes: pd.DataFrame,
    *,
    metric_name: str,
    label: str,
    target: float | None,
    lower_is_better: bool = True,
    period_label: str = "day",
    height: int = 230,
) -> alt.LayerChart:
    """A rate per period (`period_date`) with its Wilson 95% band, the target as a rule, the
    strategy changes that could explain its moves and the flagged anomalies.

    Layers, in order: ``area`` (ci_lower..ci_upper), ``rule`` (target), ``rule`` (strategy
    changes at `change_date`), ``line`` (value, dashed where the period is not final:
    `is_final` false) and ``point`` (anomalies at `period_date`).
    """
    x = alt.X("period_date:T", title=None, axis=alt.Axis(format="%b %d", labelColor=INK))
    goal = "lower is better" if lower_is_better else "higher is better"
    subtitle = f"target {target:.1%} · {goal}" if target is not None else goal
    return (
        alt.layer(
            _interval_band(series, x),
            _target_rule(target),
            _change_rules(changes),
            _value_line(series, x, period_label),
            _anomaly_points(anomalies),
        )
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


def _interval_band(series: pd.DataFrame, x: alt.X) -> alt.Chart:
    """The Wilson 95% interval of each period as a shaded area."""
    y_axis = alt.Axis(format=".1%", title=None, labelColor=INK, tickCount=5)
    return (
        alt.Chart(series)
        .mark_area(opacity=0.28, color=BAND)
        .encode(
            x=x,
            y=alt.Y("ci_lower:Q", axis=y_axis, scale=alt.Scale(zero=False, nice=True)),
            y2="ci_upper:Q",
        )
    )


def _target_rule(target: float | None) -> alt.Chart:
    """The target as a dashed horizontal rule (no rule without a target)."""
    target_frame = pd.DataFrame({"target_value": [] if target is None else [float(target)]})
    return (
        alt.Chart(target_frame)
        .mark_rule(color=TARGET, strokeDash=[6, 4], strokeWidth=1.6)
        .encode(
            y="target_value:Q",
            tooltip=[alt.Tooltip("target_value:Q", title="target", format=".2%")],
        )
    )


def _change_rules(changes: pd.DataFrame) -> alt.Chart:
    """A dotted vertical rule on each strategy change that could explain a move."""
    return (
        alt.Chart(changes)
        .mark_rule(color=CHANGE, strokeDash=[2, 2], strokeWidth=1.4, opacity=0.8)
        .encode(
            x="change_date:T",
            tooltip=[
                alt.Tooltip("change_date:T", title="strategy change", format="%Y-%m-%d"),
                alt.Tooltip("strategy_name:N", title="strategy"),
                alt.Tooltip("change_type:N", title="change"),
                alt.Tooltip("change_description:N", title="what changed"),
            ],
        )
    )


def _value_line(series: pd.DataFrame, x: alt.X, period_label: str) -> alt.Chart:
    """The rate of each period, dashed where the period is not final."""
    return (
        alt.Chart(series)
        .mark_line(
            color=LINE,
            strokeWidth=1.8,
            point=alt.OverlayMarkDef(color=LINE, size=40, filled=True, opacity=0),
        )
        .encode(
            x=x,
            y="value:Q",
            strokeDash=alt.StrokeDash(
                "is_final:N",
                scale=alt.Scale(domain=[True, False], range=[FINAL_DASH[True], FINAL_DASH[False]]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("period_start:T", title=f"{period_label} from", format="%Y-%m-%d"),
                alt.Tooltip("period_end:T", title="to", format="%Y-%m-%d"),
                alt.Tooltip("value:Q", title="value", format=".2%"),
                alt.Tooltip("ci_lower:Q", title="95% CI low", format=".2%"),
                alt.Tooltip("ci_upper:Q", title="95% CI high", format=".2%"),
                alt.Tooltip("numerator:Q", title="numerator", format=",.0f"),
                alt.Tooltip("denominator:Q", title="denominator", format=",.0f"),
                alt.Tooltip("is_final:N", title="complete and mature"),
            ],
        )
    )


def _anomaly_points(anomalies: pd.DataFrame) -> alt.Chart:
    """The flagged anomalies as triangles pointing the way the rate moved, sized by severity."""
    flags = anomalies.assign(
        marker_size=anomalies["severity"].map(SEVERITY_SIZE).fillna(90).astype(float)
    )
    return (
        alt.Chart(flags)
        .mark_point(filled=True, opacity=0.95, stroke="white", strokeWidth=1)
        .encode(
            x="period_date:T",
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
                alt.Tooltip("day_value:Q", title="that day's value", format=".2%"),
                alt.Tooltip("expected_value:Q", title="expected", format=".2%"),
                alt.Tooltip("severity:N", title="severity"),
                alt.Tooltip("q_value:Q", title="q-value", format=".2g"),
            ],
        )
    )


STATUS_COLOURS = {
    "live": LIVE,
    "shadow": SHADOW,
    "retired": MUTED,
    "idle": "#cbd5e1",
    "not_launched": "#e2e8f0",
}
#: Marker of each strategy mode: enforcing, in shadow mode (scores without enforcing), retired.
MODE_SHAPES = {"enforcing": "circle", "shadow mode": "diamond", "retired": "cross"}

SCATTER_WIDTH = 820
#: Labels further than this from their point (pixels) get a leader line to it.
LEADER_MIN_PX = 20.0
#: Area in square pixels of a strategy's marker: no hits per day to the most.
MARKER_AREA = (60.0, 500.0)
SCATTER_HEIGHT = 460
#: Width of a character of the scatter's 11 px labels, rounded up (for the label layout).
LABEL_CHAR_PX = 6.6
LABEL_HEIGHT_PX = 13.0
# Where a label may go around its point, in pixels (x right, y down), nearest first.
LABEL_OFFSETS = (
    [(10, 0), (-10, 0)]
    + [(dx, dy) for reach in range(1, 9) for dy in (-8 * reach, 8 * reach) for dx in (10, -10)]
    + [(0, -14 * reach) for reach in (1, 2, 3, 4)]
    + [(0, 14 * reach) for reach in (1, 2, 3, 4)]
)


def strategy_mode(status: str, is_shadow_mode: bool) -> str:
    """How a strategy is drawn: retired strategies as retired (whether or not they ever
    enforced), else shadow mode or enforcing."""
    if status == "retired":
        return "retired"
    return "shadow mode" if is_shadow_mode else "enforcing"


def _box(x: float, y: float, dx: float, dy: float, width: float) -> tuple[float, ...]:
    """Label box (left, top, right, bottom) in pixels for a label at offset (dx, dy) of (x, y):
    left-aligned to the right of the point, right-aligned to its left, centred above/below."""
    if dx > 0:
        left = x + dx
    elif dx < 0:
        left = x + dx - width
    else:
        left = x - width / 2
    top = y + dy - LABEL_HEIGHT_PX / 2
    return (left, top, left + width, top + LABEL_HEIGHT_PX)


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(width, 0.0) * max(height, 0.0)


def label_layout(
    frame: pd.DataFrame,
    x: str,
    y: str,
    text: str,
    width: int = SCATTER_WIDTH,
    height: int = SCATTER_HEIGHT,
    radius: str | None = None,
) -> pd.DataFrame:
    """Places a label beside each point of a [0, 1] × [0, 1] scatter so that no two labels
    overlap and none covers a point: each label takes the nearest free spot around its point
    (LABEL_OFFSETS), labels of crowded points first. `radius` names a column of marker radii in
    pixels (default 7). Adds ``label_x``, ``label_y`` (data units
    of the label's anchor), ``label_align`` (left or right), ``label_box`` (pixels) and
    ``label_distance`` (pixels from the point)."""
    px = frame[x].to_numpy(float) * width
    py = (1.0 - frame[y].to_numpy(float)) * height
    widths = frame[text].astype(str).str.len().to_numpy(float) * LABEL_CHAR_PX + 4.0
    radii = frame[radius].to_numpy(float) if radius else [7.0] * len(frame)
    markers = [(a - r, b - r, a + r, b + r) for a, b, r in zip(px, py, radii, strict=True)]
    crowding = [
        sum(abs(a - c) < 120 and abs(b - d) < 40 for c, d in zip(px, py, strict=True))
        for a, b in zip(px, py, strict=True)
    ]
    order = sorted(range(len(frame)), key=lambda i: (-crowding[i], py[i], px[i]))
    placed: dict[int, tuple[float, ...]] = {}
    offsets: dict[int, tuple[float, float]] = {}
    for i in order:
        best, best_cost = None, None
        for step_x, step_y in LABEL_OFFSETS:
            gap = max(radii[i] - 7.0, 0.0)  # clear a big marker of its own
            dx = step_x + gap if step_x > 0 else step_x - gap if step_x < 0 else step_x
            dy = step_y + gap if step_y > 0 else step_y - gap
            box = _box(px[i], py[i], dx, dy, widths[i])
            # Past the left or bottom edge a label would cover the axis labels; past the top
            # or right edge the chart grows to hold it (autosize "pad"), at a small cost.
            outside = 25.0 * (max(0.0, -box[0]) + max(0.0, box[3] - height))
            outside += 0.5 * (max(0.0, -box[1]) + max(0.0, box[2] - width))
            cost = sum(_overlap(box, other) for other in placed.values())
            cost += sum(_overlap(box, m) for j, m in enumerate(markers) if j != i)
            cost += outside
            if best_cost is None or cost < best_cost:
                best, best_cost = (dx, dy), cost
            if cost == 0:
                break
        offsets[i] = best
        placed[i] = _box(px[i], py[i], *best, widths[i])
    out = frame.copy()
    # Anchors: a label left of its point is right-aligned at its right edge; the others are
    # left-aligned at their left edge.
    right = [offsets[i][0] < 0 for i in range(len(frame))]
    out["label_align"] = ["right" if r else "left" for r in right]
    out["label_x"] = [
        (placed[i][2] if right[i] else placed[i][0]) / width for i in range(len(frame))
    ]
    out["label_y"] = [1.0 - (py[i] + offsets[i][1]) / height for i in range(len(frame))]
    out["label_box"] = [placed[i] for i in range(len(frame))]
    out["label_distance"] = [math.hypot(*offsets[i]) for i in range(len(frame))]
    return out


def strategy_precision_recall(frame: pd.DataFrame) -> alt.LayerChart:
    """QA precision against estimated recall per strategy, with both 95% intervals.

    Colour is the strategy's status; the shape its mode (MODE_SHAPES: retired strategies are
    crosses, shadow-mode ones diamonds). Labels are laid out so that none overlaps another
    (`label_layout`). Layers: ``rule`` (precision interval), ``rule`` (recall interval),
    ``rule`` (leader lines to labels placed away from their point), ``point``, ``text``
    (left-aligned labels), ``text`` (right-aligned labels, left of their point).
    """
    data, top_hits = _scatter_frame(frame)
    statuses = [s for s in STATUS_COLOURS if s in set(data["status"])]
    modes = [m for m in MODE_SHAPES if m in set(data["mode"])]
    unit = alt.Scale(domain=[0, 1])
    base = alt.Chart(data)
    x = alt.X("estimated_recall:Q", title="estimated recall", scale=unit, axis=alt.Axis(format="%"))
    y = alt.Y("qa_precision:Q", title="QA precision", scale=unit, axis=alt.Axis(format="%"))
    colour = alt.Color(
        "status:N",
        scale=alt.Scale(domain=statuses, range=[STATUS_COLOURS[s] for s in statuses]),
        legend=alt.Legend(title="status", orient="bottom", symbolOpacity=1, symbolType="circle"),
    )
    precision_ci = base.mark_rule(opacity=0.22, strokeWidth=1).encode(
        x=x, y="qa_precision_ci_lower:Q", y2="qa_precision_ci_upper:Q", color=colour
    )
    recall_ci = base.mark_rule(opacity=0.22, strokeWidth=1).encode(
        y=y, x="recall_ci_lower:Q", x2="recall_ci_upper:Q", color=colour
    )
    leaders = (
        base.transform_filter(f"datum.label_distance > {LEADER_MIN_PX}")
        .mark_rule(color=MUTED, strokeWidth=0.8, opacity=0.8)
        .encode(x=x, y=y, x2="label_x:Q", y2="label_y:Q")
    )
    return (
        alt.layer(
            precision_ci,
            recall_ci,
            leaders,
            _strategy_points(base, x, y, colour, modes, top_hits),
            _strategy_labels(base, unit, "left"),
            _strategy_labels(base, unit, "right"),
        )
        .properties(
            width=SCATTER_WIDTH,
            height=SCATTER_HEIGHT,
            # The plot area is exactly width × height (axes and legends around it), as the
            # label layout assumes.
            autosize=alt.AutoSizeParams(type="pad"),
        )
        .configure_view(strokeWidth=0)
    )


def _scatter_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """The strategies with their mode, status, marker radius (area by hits a day) and label
    place; and the most hits a day (the top of the size scale)."""
    data = frame.assign(
        mode=[
            strategy_mode(s, bool(m))
            for s, m in zip(frame["strategy_status"], frame["is_shadow_mode"], strict=True)
        ],
        status=frame["strategy_status"],
    )
    top_hits = max(float(data["hits_per_day"].max()), 1e-9) if len(data) else 1.0
    share = data["hits_per_day"].fillna(0) / top_hits
    areas = MARKER_AREA[0] + (MARKER_AREA[1] - MARKER_AREA[0]) * share
    data = data.assign(marker_radius=(areas / math.pi) ** 0.5 + 1.0)
    data = label_layout(
        data, "estimated_recall", "qa_precision", "strategy_name", radius="marker_radius"
    ).drop(columns="label_box")
    return data, top_hits


def _strategy_points(base, x, y, colour, modes: list[str], top_hits: float) -> alt.Chart:
    """A marker per strategy: colour its status, shape its mode, area its hits a day."""
    return base.mark_point(filled=True, opacity=0.9, stroke="white", strokeWidth=1).encode(
        x=x,
        y=y,
        color=colour,
        shape=alt.Shape(
            "mode:N",
            scale=alt.Scale(domain=modes, range=[MODE_SHAPES[m] for m in modes]),
            legend=alt.Legend(
                title="mode",
                orient="bottom",
                symbolFillColor=INK,
                symbolStrokeColor=INK,
                symbolSize=110,
            ),
        ),
        size=alt.Size(
            "hits_per_day:Q",
            legend=None,
            scale=alt.Scale(domain=[0, top_hits], range=list(MARKER_AREA)),
        ),
        tooltip=[
            alt.Tooltip("strategy_name:N", title="strategy"),
            alt.Tooltip("policy_code:N", title="policy"),
            alt.Tooltip("status:N"),
            alt.Tooltip("mode:N"),
            alt.Tooltip("qa_precision:Q", title="precision", format=".1%"),
            alt.Tooltip("n_flagged_checks:Q", title="QA samples"),
            alt.Tooltip("estimated_recall:Q", title="recall", format=".1%"),
            alt.Tooltip("n_recall_checks:Q", title="recall checks"),
            alt.Tooltip("hits_per_day:Q", title="hits per day", format=".1f"),
        ],
    )


def _strategy_labels(base, unit: alt.Scale, align: str) -> alt.Chart:
    """The names the label layout placed with this alignment (right-aligned ones sit left of
    their point)."""
    return (
        base.transform_filter(f"datum.label_align == '{align}'")
        .mark_text(align=align, baseline="middle", fontSize=11, color=INK)
        .encode(
            x=alt.X("label_x:Q", scale=unit),
            y=alt.Y("label_y:Q", scale=unit),
            text="strategy_name:N",
        )
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
    """Each segment's signed contribution to a metric move, in percentage points, largest on
    top; `segment` holds the segment's readable name (e.g. ``Singapore · Fashion``)."""
    data = frame.assign(contribution_pp=frame["contribution"] * 100.0)
    return (
        alt.Chart(data)
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            y=alt.Y(
                "segment:N",
                sort=alt.EncodingSortField("contribution_rank", order="ascending"),
                title=None,
                axis=alt.Axis(labelLimit=320, labelFontSize=12, labelColor=INK, labelPadding=6),
            ),
            x=alt.X(
                "contribution_pp:Q",
                title="points of the move",
                axis=alt.Axis(format="+.2f", labelFontSize=12, labelColor=INK, tickCount=6),
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
        .properties(height=70 + 28 * len(data))
        .configure_view(strokeWidth=0)
    )


def seller_timeline(events: pd.DataFrame) -> alt.Chart:
    """A seller's events over time, one row per kind of event (`event_label`)."""
    return (
        alt.Chart(events)
        .mark_tick(thickness=2, size=18)
        .encode(
            x=alt.X("event_at:T", title=None, axis=alt.Axis(format="%b %d", labelColor=INK)),
            y=alt.Y("event_label:N", title=None, axis=alt.Axis(labelLimit=220, labelFontSize=12)),
            color=alt.Color("event_label:N", legend=None),
            tooltip=[
                alt.Tooltip("event_at:T", title="when", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("event_label:N", title="event"),
                alt.Tooltip("event_id:N", title="id"),
                alt.Tooltip("event_detail:N", title="what"),
                alt.Tooltip("outcome:N", title="outcome"),
            ],
        )
        .properties(height=60 + 30 * events["event_label"].nunique())
        .configure_view(strokeWidth=0)
    )


def row_count_bars(frame: pd.DataFrame) -> alt.Chart:
    """Row counts per relation (log scale: record-level facts and summaries differ by orders)."""
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
