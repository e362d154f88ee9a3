"""Seller case page: one seller's risk score and its reasons in words, syndicate membership and
fellow members, and the timeline of its listings, strategy hits, enforcement actions, appeals,
QA case checks and complaints. Reached by seller id (``/seller?seller_id=...``) or from the
syndicate, strategy and alert pages. Pseudonymised data only: ids, codes and hashes."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from governance.dashboard import charts, data, ui

PRODUCER = "the risk and detection marts (models/marts/risk/, models/marts/detection/)"
EVENT_LABELS = {
    "listing_created": "listing created",
    "strategy_hit": "strategy hit",
    "enforcement_action": "enforcement action",
    "appeal_filed": "appeal filed",
    "appeal_decided": "appeal decided",
    "qa_check": "QA case check",
    "complaint": "buyer complaint",
}
BAND_COLOURS = {"low": "green", "medium": "yellow", "high": "orange", "critical": "red"}
# One explanation of seller_risk_scores.top_features: `name=value (+contribution)`.
REASON = re.compile(r"^\s*(?P<name>[^=;]+)=(?P<value>[^;(]*?)\s*\((?P<effect>[+-][0-9.]+)\)\s*$")


def reasons_in_words(top_features: str | None, meanings: dict[str, str]) -> list[str]:
    """The risk model's top features of a seller as sentences: what the feature is (its
    documented meaning), the seller's value and how much it moves the score."""
    if not isinstance(top_features, str) or not top_features.strip():
        return []
    sentences = []
    for part in top_features.split(";"):
        found = REASON.match(part)
        if found is None:
            sentences.append(part.strip())
            continue
        name, value, effect = found["name"].strip(), found["value"].strip(), float(found["effect"])
        if name in meanings:
            what = meanings[name].strip().rstrip(".")
            subject = f"{what}: {value}"
        elif "_" in name and value == "1":  # a category indicator, e.g. region_SG
            column, _, code = name.rpartition("_")
            subject = f"{column.replace('_', ' ')} is {code}"
        else:
            subject = f"{name.replace('_', ' ')}: {value}"
        verb = "raises" if effect > 0 else "lowers" if effect < 0 else "does not move"
        sentences.append(f"{subject} — {verb} the score by {abs(effect):.3f}")
    return sentences


def _pick_seller(wh: data.Warehouse) -> str | None:
    chosen = ui.from_url("seller_id", "seller_id", "")
    left, right = st.columns([1.2, 1.0], vertical_alignment="bottom", gap="medium")
    typed = left.text_input(
        "Seller id",
        key="seller_id",
        placeholder="e.g. S0001234",
        help="Or open a seller from the Syndicates, Strategy performance or Alerts pages.",
    ).strip()
    start = ui.guarded(wh, "riskiest_unenforced_sellers")
    if start is not None and not start.empty:
        with right.popover("Highest-risk sellers not yet enforced", icon=":material/list:"):
            ui.table(
                ui.seller_links(start),
                ["seller_link", "risk_score", "risk_band"],
                config={
                    "seller_link": ui.SELLER_LINK,
                    "risk_score": st.column_config.NumberColumn("risk score", format="%.3f"),
                },
            )
    ui.keep_in_url({"seller_id": typed or None})
    return typed or chosen or None


def _risk(profile: dict, meanings: dict[str, str]) -> None:
    st.subheader("Risk", divider="gray")
    if "risk_score" not in profile or pd.isna(profile.get("risk_score")):
        st.write("No risk score for this seller (it was never onboarded, or scores are not built).")
        return
    left, right = st.columns([1, 2.4], gap="medium")
    with left:
        st.metric("Risk score", f"{profile['risk_score']:.3f}", border=True)
        band = profile.get("risk_band")
        st.badge(f"{band} risk", color=BAND_COLOURS.get(band, "gray"))
        st.caption(f"Model `{profile.get('model_version')}`")
    with right:
        reasons = reasons_in_words(profile.get("top_features"), meanings)
        st.markdown("**Top reasons for the score**")
        if reasons:
            st.markdown("\n".join(f"1. {r}" for r in reasons))
        else:
            st.write("No explanation for this seller (only the highest-scored are explained).")


def _syndicate(wh: data.Warehouse, profile: dict, seller_id: str) -> None:
    st.subheader("Syndicate", divider="gray")
    syndicate = profile.get("syndicate_id")
    if not isinstance(syndicate, str) or not syndicate:
        st.write("Not a member of any syndicate.")
        return
    members = ui.guarded(wh, "syndicate_members", syndicate)
    strength = profile.get("membership_strength")
    strength = "" if strength is None or pd.isna(strength) else f" (tie strength {strength:.2f})"
    st.markdown(
        f"Member of **{syndicate}** ({len(members)} members), tied in by "
        f"**{profile.get('tie_signal_types') or 'unknown signals'}**{strength}."
    )
    ring = ui.guarded(wh, "syndicate", syndicate) or {}
    _binding(ring)
    ui.page_link(
        "syndicates", f"Open syndicate {syndicate}", ":material/hub:", syndicate_id=syndicate
    )
    others = ui.seller_links(members[members["seller_id"] != seller_id])
    binding = [c for c in members.columns if c not in ui.LABELS and c not in ("syndicate_id",)]
    st.markdown("**Fellow members** — identifiers are salted hashes")
    ui.table(
        others,
        [
            "seller_link",
            "membership_strength",
            "tie_signal_types",
            "is_enforced",
            "is_confirmed_bad",
            "risk_band",
            *binding,
        ],
        config={
            "seller_link": ui.SELLER_LINK,
            "membership_strength": st.column_config.NumberColumn("tie strength", format="%.2f"),
            **{c: c.replace("_", " ") for c in binding},
        },
    )


def _binding(ring: dict) -> None:
    """What binds the syndicate: the hashed identifiers where the detector publishes them,
    else the counts of shared values per signal type."""
    lines = []
    if isinstance(ring.get("shape"), str):
        lines.append(f"Shape: **{ring['shape']}**")
    identifiers = ring.get("binding_identifiers")
    if isinstance(identifiers, str) and identifiers:
        items = "\n".join(
            f"  - `{item.strip()}`" for item in identifiers.split(";") if item.strip()
        )
        lines.append(f"Identifiers that bind it (salted hashes):\n{items}")
    elif isinstance(ring.get("shared_signal_summary"), str):
        lines.append(f"Shared identity values per signal type: {ring['shared_signal_summary']}")
    if lines:
        st.markdown("\n".join(f"- {line}" for line in lines))


def _timeline(events: pd.DataFrame | None, seller_id: str) -> None:
    st.subheader("Timeline", divider="gray")
    if events is None:
        ui.not_built(data.SELLER_CASE_EVENTS, PRODUCER)
        return
    if events.empty:
        st.write("No listing, hit, action, appeal, check or complaint recorded for this seller.")
        return
    events = events.assign(
        event_label=events["event_type"].map(EVENT_LABELS).fillna(events["event_type"])
    )
    counts = events["event_label"].value_counts()
    kinds = [label for label in EVENT_LABELS.values() if label in counts.index]
    shown_kinds = st.multiselect(
        "Events",
        kinds,
        default=kinds,
        key="seller_event_kinds",
        format_func=lambda k: f"{k} ({counts[k]:,})",
    )
    shown = events[events["event_label"].isin(shown_kinds)]
    if shown.empty:
        st.write("No event of the chosen kinds.")
        return
    st.altair_chart(charts.seller_timeline(shown), width="stretch", key="seller_timeline")
    strategies = shown["strategy_id"].dropna()
    shown = shown.assign(
        strategy_link=[
            ui.page_url("strategies", strategy_id=s) if isinstance(s, str) else None
            for s in shown["strategy_id"]
        ]
    )
    ui.table(
        shown,
        [
            "event_at",
            "event_label",
            "event_id",
            "target_type",
            "target_id",
            "strategy_link",
            "policy_code",
            "event_detail",
            "outcome",
            "related_id",
        ],
        config={
            "event_at": st.column_config.DatetimeColumn("when", format="YYYY-MM-DD HH:mm"),
            "event_label": "event",
            "strategy_link": st.column_config.LinkColumn(
                "strategy", display_text=r"strategy_id=(.*)$"
            ),
        },
    )
    st.caption(
        f"{len(shown):,} events of seller {seller_id}, newest first; {strategies.nunique()} "
        "strategies involved (links open their scorecard)."
    )


def render() -> None:
    wh = ui.warehouse()
    ui.header(
        "Seller case",
        "Everything the warehouse knows about one seller, for case checks and investigations: "
        "risk score and why, syndicate ties, and the timeline of listings, strategy hits, "
        "actions, appeals, QA checks and complaints. Ids, codes and salted hashes only.",
    )
    seller_id = _pick_seller(wh)
    if seller_id is None:
        st.info(
            "Enter a seller id, or open a seller from a syndicate, a strategy or an alert.",
            icon=":material/person_search:",
        )
        return
    profile = ui.guarded(wh, "seller_profile", seller_id)
    if profile is None:
        st.warning(f"No seller `{seller_id}` in this warehouse.", icon=":material/search_off:")
        return
    enforced = "enforced (suspended or banned)" if profile.get("is_enforced") else "not enforced"
    confirmed = " · confirmed bad" if profile.get("is_confirmed_bad") else ""
    st.markdown(
        f"### {seller_id}\n{profile.get('seller_type') or ''} seller in "
        f"**{profile.get('region')}**, mainly **{profile.get('primary_category')}** · onboarded "
        f"{ui.day(profile.get('onboarded_at'))} · **{enforced}**{confirmed}"
    )
    stats = st.columns(6)
    for cell, (label, column) in zip(
        stats,
        [
            ("Listings", "n_listings"),
            ("Violating listings", "n_violation_listings"),
            ("Completed orders", "n_completed_orders"),
            ("Complaints", "n_complaints"),
            ("QA checks", "n_qa_checks"),
            ("Strategy hits", "n_strategy_hits"),
        ],
        strict=True,
    ):
        value = profile.get(column)
        cell.metric(
            label, "–" if value is None or pd.isna(value) else f"{int(value):,}", border=True
        )
    _risk(profile, ui.guarded(wh, "feature_descriptions"))
    _syndicate(wh, profile, seller_id)
    _timeline(ui.guarded(wh, "seller_events", seller_id), seller_id)
    st.divider()
    links = st.columns(3)
    with links[0]:
        ui.page_link("alerts", "Alerts & root causes", ":material/notifications:")
    with links[1]:
        ui.page_link("strategies", "Strategy performance", ":material/target:")
    with links[2]:
        ui.page_link("syndicates", "Syndicates", ":material/hub:")
