"""Seller syndicates: the riskiest rings and their members not yet enforced against."""

from __future__ import annotations

import streamlit as st

from governance.dashboard import charts, data, ui


def render() -> None:
    wh = ui.warehouse()
    ui.header(
        "Syndicates",
        "Rings of sellers tied by shared devices, bank accounts, phones, addresses or IPs. "
        "Members not yet enforced against are the review queue.",
    )
    frame = ui.guarded(wh, "syndicates")
    if frame is None:
        ui.not_built(data.SYNDICATES, "the detection marts (models/marts/detection/)")
        return
    if frame.empty:
        st.write("No syndicate found.")
        return

    stats = st.columns(4)
    stats[0].metric("Syndicates", f"{len(frame):,}", border=True)
    stats[1].metric("Members", f"{int(frame['size'].sum()):,}", border=True)
    stats[2].metric("Confirmed bad", f"{int(frame['n_confirmed_bad'].sum()):,}", border=True)
    stats[3].metric(
        "Not yet enforced",
        f"{int(frame['n_unenforced_members'].sum()):,}",
        border=True,
        help="Members of a syndicate without a removal, suspension or ban so far.",
    )

    with st.container(border=True):
        head, control = st.columns([3, 1], vertical_alignment="center")
        head.markdown("**Highest-risk rings** — members confirmed bad and the rest")
        top = control.select_slider(
            "Rings shown", [5, 10, 15, 25, 50], value=15, key="syndicates_top"
        )
        st.altair_chart(charts.syndicate_sizes(frame, top=top), width="stretch", key="rings")

    st.subheader("Review queue", divider="gray")
    st.caption("Members of the riskiest rings without a removal, suspension or ban so far.")
    queue = frame[frame["n_unenforced_members"] > 0].head(top)
    st.dataframe(
        queue[["syndicate_id", "risk_score", "n_unenforced_members", "unenforced_member_ids"]],
        hide_index=True,
        column_config={
            "syndicate_id": st.column_config.TextColumn("syndicate", width="small"),
            "risk_score": st.column_config.ProgressColumn(
                "risk", min_value=0.0, max_value=1.0, format="%.2f", width="small"
            ),
            "n_unenforced_members": st.column_config.NumberColumn("not enforced", width="small"),
            "unenforced_member_ids": st.column_config.TextColumn("seller ids", width="large"),
        },
    )

    st.subheader("All syndicates", divider="gray")
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "share_confirmed_bad": st.column_config.NumberColumn(
                "confirmed bad share", format="percent"
            ),
            "risk_score": st.column_config.NumberColumn("risk score", format="%.3f"),
            "first_activity_at": st.column_config.DatetimeColumn("first activity"),
            "last_activity_at": st.column_config.DatetimeColumn("last activity"),
        },
    )
