"""Seller syndicates: the riskiest rings, their members not yet enforced against, and one
syndicate's members with links to their case pages (``/syndicates?syndicate_id=...``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from governance.dashboard import charts, data, ui


def _detail(wh: data.Warehouse, frame: pd.DataFrame) -> None:
    st.subheader("Members of a syndicate", divider="gray")
    ids = list(frame["syndicate_id"])
    ui.from_url("syndicates_detail", "syndicate_id", ids[0], allowed=ids)
    chosen = st.selectbox(
        "Syndicate",
        ids,
        key="syndicates_detail",
        format_func=lambda s: (
            f"{s} · {int(frame.loc[frame['syndicate_id'] == s, 'size'].iloc[0])} members · risk "
            f"{frame.loc[frame['syndicate_id'] == s, 'risk_score'].iloc[0]:.2f}"
        ),
    )
    ui.keep_in_url({"syndicate_id": chosen})
    ring = ui.guarded(wh, "syndicate", chosen) or {}
    identifiers = ring.get("binding_identifiers")
    if isinstance(identifiers, str) and identifiers:
        st.caption(f"Identifiers that bind it (salted hashes): {identifiers}")
    else:
        st.caption(f"Shared identity signals: {ring.get('shared_signal_summary')}")
    members = ui.guarded(wh, "syndicate_members", chosen)
    binding = [c for c in members.columns if c not in ui.LABELS and c != "syndicate_id"]
    ui.table(
        ui.seller_links(members),
        [
            "seller_link",
            "membership_strength",
            "tie_signal_types",
            "is_enforced",
            "is_confirmed_bad",
            "risk_score",
            "risk_band",
            *binding,
        ],
        config={
            "seller_link": ui.SELLER_LINK,
            "membership_strength": st.column_config.NumberColumn("tie strength", format="%.2f"),
            "risk_score": st.column_config.NumberColumn("risk score", format="%.3f"),
            **{c: c.replace("_", " ") for c in binding},
        },
    )
    st.caption("Open a member's case page from its seller id. Identifiers are salted hashes.")


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
    ui.table(
        queue,
        ["syndicate_id", "risk_score", "n_unenforced_members", "unenforced_member_ids"],
        config={
            "syndicate_id": st.column_config.TextColumn("syndicate", width="small"),
            "risk_score": st.column_config.ProgressColumn(
                "risk", min_value=0.0, max_value=1.0, format="%.2f", width="small"
            ),
            "n_unenforced_members": st.column_config.NumberColumn("not enforced", width="small"),
            "unenforced_member_ids": st.column_config.TextColumn(
                "members not enforced", width="large"
            ),
        },
    )

    _detail(wh, frame)

    st.subheader("All syndicates", divider="gray")
    ui.table(
        frame,
        config={
            "share_confirmed_bad": st.column_config.NumberColumn(
                "share confirmed bad", format="percent"
            ),
            "risk_score": st.column_config.NumberColumn("risk score", format="%.3f"),
            "first_activity_at": st.column_config.DatetimeColumn("first activity"),
            "last_activity_at": st.column_config.DatetimeColumn("last activity"),
        },
    )
