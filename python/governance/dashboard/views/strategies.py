"""Detection strategy performance: precision against recall (shadow-mode and retired strategies
marked), the scorecard, and one strategy's most-hit sellers (``/strategies?strategy_id=...``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from governance.dashboard import charts, data, ui

PRODUCER = "the strategy marts (models/marts/strategy/)"


def _shadow_vs_live(frame: pd.DataFrame) -> pd.DataFrame:
    """Each shadow-mode strategy next to the live strategies of the same policy."""
    shadow = frame[frame["is_shadow_mode"] & (frame["strategy_status"] == "shadow")]
    live = frame[frame["strategy_status"] == "live"]
    pairs = shadow.merge(live, on="policy_code", suffixes=("_shadow", "_live"))
    return pairs[
        [
            "policy_code",
            "strategy_name_shadow",
            "qa_precision_shadow",
            "estimated_recall_shadow",
            "hits_per_day_shadow",
            "strategy_name_live",
            "qa_precision_live",
            "estimated_recall_live",
            "hits_per_day_live",
        ]
    ]


def render() -> None:
    wh = ui.warehouse()
    ui.header(
        "Strategy performance",
        "QA precision (flagged samples confirmed) and estimated recall (random checks caught) of "
        "each detection strategy over a trailing window, with 95% intervals. Shadow-mode "
        "strategies score without enforcing: compare them with the live ones of the same policy.",
    )
    windows = ui.guarded(wh, "strategy_windows")
    if not windows:
        ui.not_built(data.STRATEGY_PERFORMANCE, PRODUCER)
        return
    ui.from_url("strategies_window", "window", max(windows), parse=int, allowed=windows)
    window = st.segmented_control(
        "Trailing window",
        windows,
        format_func=lambda d: f"{d} days",
        key="strategies_window",
    )
    window = int(window or max(windows))
    ui.keep_in_url({"window": None if window == max(windows) else window})
    frame = ui.guarded(wh, "strategy_performance", window)
    if frame.empty:
        st.write("No strategy has figures for this window.")
        return

    _headline_figures(frame)
    _precision_recall_chart(frame)
    _shadow_vs_live_table(frame)
    _scorecard(frame)
    _strategy_sellers(wh, frame)


def _headline_figures(frame: pd.DataFrame) -> None:
    """How many strategies, live, in shadow mode, retired, and with low precision."""
    stats = st.columns(5)
    stats[0].metric("Strategies", f"{len(frame):,}", border=True)
    stats[1].metric("Live", f"{int((frame['strategy_status'] == 'live').sum()):,}", border=True)
    stats[2].metric(
        "In shadow mode",
        f"{int((frame['strategy_status'] == 'shadow').sum()):,}",
        border=True,
        help="Strategies with hits but no enforcement action ever attributed to them.",
    )
    stats[3].metric(
        "Retired",
        f"{int((frame['strategy_status'] == 'retired').sum()):,}",
        border=True,
        help="Strategies switched off; their figures cover the window up to retirement.",
    )
    low = frame["qa_precision"].lt(0.5) & frame["n_flagged_checks"].ge(5)
    stats[4].metric(
        "Precision below 50%",
        f"{int(low.sum()):,}",
        border=True,
        help="Among strategies with at least 5 QA samples in the window.",
    )


def _precision_recall_chart(frame: pd.DataFrame) -> None:
    """The precision-recall scatter of the strategies that have both estimates."""
    measured = frame.dropna(subset=["qa_precision", "estimated_recall"])
    with st.container(border=True):
        if measured.empty:
            st.write("No strategy has both a precision and a recall estimate in this window.")
        else:
            st.altair_chart(
                charts.strategy_precision_recall(measured),
                width="content",
                key="strategy_precision_recall",
            )
            missing = len(frame) - len(measured)
            note = (
                f" {missing} strategies lack QA samples or recall checks in the window and are "
                "only in the scorecard below."
                if missing
                else ""
            )
            st.caption(
                "● enforcing · ◆ shadow mode (hits, never an enforcement action) · ✚ retired "
                "(switched off). Colour is the status; lines are 95% intervals; size is hits "
                "per day." + note
            )


def _shadow_vs_live_table(frame: pd.DataFrame) -> None:
    """Shadow-mode strategies beside the live ones of the same policy (when there are any)."""
    pairs = _shadow_vs_live(frame)
    if not pairs.empty:
        st.subheader("Shadow mode against live, same policy", divider="gray")
        config = {"policy_code": "policy"}
        for side in ("shadow", "live"):
            config |= {
                f"strategy_name_{side}": f"{side} strategy",
                f"qa_precision_{side}": st.column_config.NumberColumn(
                    f"precision ({side})", format="percent"
                ),
                f"estimated_recall_{side}": st.column_config.NumberColumn(
                    f"recall ({side})", format="percent"
                ),
                f"hits_per_day_{side}": st.column_config.NumberColumn(
                    f"hits/day ({side})", format="%.1f"
                ),
            }
        st.dataframe(pairs, hide_index=True, column_config=config, placeholder="–")


def _scorecard(frame: pd.DataFrame) -> None:
    """Every strategy's figures in the window."""
    st.subheader("Scorecard", divider="gray")
    st.dataframe(
        frame,
        hide_index=True,
        column_order=[
            "strategy_name",
            "policy_code",
            "strategy_status",
            "qa_precision",
            "qa_precision_ci_lower",
            "qa_precision_ci_upper",
            "estimated_recall",
            "recall_ci_lower",
            "recall_ci_upper",
            "hits_per_day",
            "enforcement_rate",
            "appeal_overturn_rate",
            "n_flagged_checks",
            "n_recall_checks",
            "last_change_type",
            "last_changed_at",
        ],
        column_config={
            "strategy_name": "strategy",
            "policy_code": "policy",
            "strategy_status": "status",
            "qa_precision": st.column_config.NumberColumn("precision", format="percent"),
            "qa_precision_ci_lower": st.column_config.NumberColumn("low", format="percent"),
            "qa_precision_ci_upper": st.column_config.NumberColumn("high", format="percent"),
            "estimated_recall": st.column_config.NumberColumn("recall", format="percent"),
            "recall_ci_lower": st.column_config.NumberColumn("low ", format="percent"),
            "recall_ci_upper": st.column_config.NumberColumn("high ", format="percent"),
            "hits_per_day": st.column_config.NumberColumn("hits/day", format="%.1f"),
            "enforcement_rate": st.column_config.NumberColumn("enforced", format="percent"),
            "appeal_overturn_rate": st.column_config.NumberColumn("overturned", format="percent"),
            "n_flagged_checks": "QA samples",
            "n_recall_checks": "recall checks",
            "last_change_type": "last change",
            "last_changed_at": st.column_config.DatetimeColumn("changed", format="YYYY-MM-DD"),
        },
        placeholder="–",
    )


def _strategy_sellers(wh: data.Warehouse, frame: pd.DataFrame) -> None:
    """One strategy's most-hit sellers, each a link to its case page."""
    st.subheader("Sellers a strategy hit most", divider="gray")
    names = dict(zip(frame["strategy_id"], frame["strategy_name"], strict=True))
    statuses = dict(zip(frame["strategy_id"], frame["strategy_status"], strict=True))
    ids = sorted(names, key=lambda s: names[s])
    ui.from_url("strategies_strategy", "strategy_id", ids[0], allowed=ids)
    chosen = st.selectbox(
        "Strategy",
        ids,
        key="strategies_strategy",
        format_func=lambda s: f"{names[s]} ({s}, {statuses[s]})",
    )
    ui.keep_in_url({"strategy_id": chosen})
    sellers = ui.guarded(wh, "strategy_top_sellers", chosen)
    if sellers is None:
        ui.not_built(data.SELLER_CASE_EVENTS, "the risk marts (models/marts/risk/)")
        return
    if sellers.empty:
        st.write(f"{names[chosen]} has hit no seller up to the reporting date.")
        return
    ui.table(
        ui.seller_links(sellers),
        ["seller_link", "n_hits", "n_enforced", "last_hit_at"],
        config={
            "seller_link": ui.SELLER_LINK,
            "n_enforced": "hits enforced",
            "last_hit_at": st.column_config.DatetimeColumn("last hit", format="YYYY-MM-DD"),
        },
    )
