"""Ground truth of planted incidents: which metric moves, where, when and in which direction.

Affected date ranges are measured on the generated events (the footprint of the cause on the
metric's cohort dates), so they are exact for the data written.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import config as C
from . import enforcement as E

FOOTPRINT_FRACTION = 0.25  # a date is affected if it carries >= 25 % of the peak daily effect
IS_LQ = E.IS_LQ_POLICY


def _footprint(
    day: np.ndarray, days: int, denom: np.ndarray | None = None, weights: np.ndarray | None = None
):
    day = np.asarray(day, dtype=np.int64)
    ok = (day >= 0) & (day < days)
    cnt = np.bincount(day[ok], weights=None if weights is None else weights[ok], minlength=days)
    val = cnt / np.maximum(denom, 1) if denom is not None else cnt.astype(float)
    if len(val) == 0 or val.max() <= 0:
        return None
    on = np.flatnonzero(val >= FOOTPRINT_FRACTION * val.max())
    return int(on[0]), int(on[-1])


def incident_rows(
    plan,
    clock,
    strategies,
    change_ids,
    changes,
    ld,
    sd,
    acts,
    kept,
    dropped,
    ap,
    kept_idx,
    attack_segment,
) -> dict:
    days = clock.days
    rows = {
        k: []
        for k in (
            "incident_id",
            "incident_type",
            "metric_name",
            "region",
            "category",
            "start_date",
            "end_date",
            "direction",
            "strategy_id",
            "change_id",
            "description",
            "shape",
            "is_consequence",
            "target_strength",
        )
    }
    n_inc = 0
    by_name = {s.name: s for s in strategies}
    listing_day = np.floor(ld.t).astype(np.int64)
    listings_per_day = np.bincount(listing_day, minlength=days)
    is_l = acts["target_type"] == 0
    lag = np.full(len(acts["t"]), np.inf)
    lag[is_l] = acts["t"][is_l] - ld.t[acts["target"][is_l]]
    within7 = is_l & (lag <= 7.0)
    severe_act = within7 & ~IS_LQ[acts["policy"]]
    lq_act = within7 & IS_LQ[acts["policy"]]
    cohort = np.where(is_l, listing_day[np.where(is_l, acts["target"], 0)], -1)

    def change_id_of(strategy_idx, change_type):
        for cid, c in zip(change_ids, changes, strict=True):
            if c[0] == strategy_idx and c[2] == change_type and c[1] >= 0:
                return cid
        return None

    def add(
        itype,
        metric,
        region,
        category,
        span,
        direction,
        strategy,
        change,
        desc,
        shape="spike",
        consequence=False,
        strength=None,
    ):
        rows["shape"].append(shape)
        rows["is_consequence"].append(consequence)
        rows["target_strength"].append(strength)
        rows["incident_id"].append(f"INC{n_inc:02d}")
        rows["incident_type"].append(itype)
        rows["metric_name"].append(metric)
        rows["region"].append(region)
        rows["category"].append(category)
        rows["start_date"].append(clock.start + np.timedelta64(int(span[0]), "D"))
        rows["end_date"].append(clock.start + np.timedelta64(int(min(span[1], days - 1)), "D"))
        rows["direction"].append(direction)
        rows["strategy_id"].append(strategy)
        rows["change_id"].append(change)
        rows["description"].append(desc)

    # strategy launch: a new live listing strategy lifts the violation rate from its launch on
    if plan.launch_day is not None:
        st = by_name["ip_infringement_model"]
        m = (acts["strategy"] == st.idx) & severe_act & kept
        fp = _footprint(cohort[m], days, listings_per_day)
        if fp is not None:
            n_inc += 1
            add(
                "strategy_launch",
                "listing_violation_rate",
                "ALL",
                "ALL",
                (fp[0], days - 1),
                "up",
                st.strategy_id,
                change_id_of(st.idx, "launch"),
                f"{st.name} launched on {clock.date_str(st.launched)} and enforces "
                "ip_infringement: a lasting level shift of the listing violation rate",
                shape="level_shift",
            )
            # its false positives are appealed and overturned from about a week later on
            overturned = _overturned_resolutions(acts, ap, kept_idx, (acts["strategy"] == st.idx))
            fp2 = _footprint(overturned, days)
            if fp2 is not None:
                add(
                    "strategy_launch",
                    "appeal_overturn_rate",
                    "ALL",
                    "ALL",
                    (fp2[0], days - 1),
                    "up",
                    st.strategy_id,
                    change_id_of(st.idx, "launch"),
                    f"{st.name}'s false positives, appealed and overturned, lift the appeal "
                    "overturn rate from a week after its launch",
                    shape="level_shift",
                    consequence=True,
                )

    if plan.attack is not None and sd.is_attacker.any():
        n_inc += 1
        r, c = attack_segment
        region, cat = C.REGIONS[r], C.CATEGORIES[c]
        a0, a1 = plan.attack
        att_days = listing_day[ld.is_attack]
        span = (int(att_days.min()), int(att_days.max())) if len(att_days) else (a0, a1)
        desc = (
            f"Attack spike: {int(sd.is_attacker.sum())} new bad sellers in {region}/{cat} "
            f"posted {int(ld.is_attack.sum())} mostly counterfeit listings"
        )
        add("attack_spike", "listing_violation_rate", region, cat, span, "up", None, None, desc)
        add("attack_spike", "listing_violation_rate", "ALL", "ALL", span, "up", None, None, desc)
        # attackers get suspended/banned within 30 days of onboarding
        sel = (acts["target_type"] == 1) & kept & np.isin(acts["action"], [E.A_SUSPENSION, E.A_BAN])
        tgt = acts["target"][sel]
        att = sd.is_attacker[tgt] & (acts["t"][sel] - sd.t_onb[tgt] <= 30.0)
        onb_days = np.floor(sd.t_onb[np.unique(tgt[att])]).astype(np.int64)
        if len(onb_days):
            add(
                "attack_spike",
                "bad_seller_onboarding_rate",
                region,
                cat,
                (int(onb_days.min()), int(onb_days.max())),
                "up",
                None,
                None,
                desc,
                consequence=True,
            )

    if plan.threshold is not None:
        st = by_name["misleading_claims_model"]
        n_inc += 1
        t0, t1 = plan.threshold
        sid = st.strategy_id
        chg = change_id_of(st.idx, "threshold_change")
        desc = (
            f"{st.name} threshold lowered on {clock.date_str(t0)} (false positives up) "
            f"until the rollback on {clock.date_str(t1)}"
        )
        m = (acts["strategy"] == st.idx) & acts["is_fp"] & severe_act & kept
        m &= (acts["t"] >= t0) & (acts["t"] < t1 + 1.5)
        fp = _footprint(cohort[m], days, listings_per_day)
        if fp is not None:
            add(
                "strategy_false_positives",
                "listing_violation_rate",
                "ALL",
                "ALL",
                fp,
                "up",
                sid,
                chg,
                desc,
            )
        # appeals of those actions resolved as overturned
        fp2 = _footprint(_overturned_resolutions(acts, ap, kept_idx, m), days)
        if fp2 is not None:
            add(
                "strategy_false_positives",
                "appeal_overturn_rate",
                "ALL",
                "ALL",
                fp2,
                "up",
                sid,
                chg,
                desc,
                consequence=True,
            )

    if plan.mix is not None and ld.mix_category >= 0:
        n_inc += 1
        m0, m1 = plan.mix
        c = ld.mix_category
        cat = C.CATEGORIES[c]
        desc = (
            f"Category mix shift: a {cat} promotion multiplied new {cat} listings for a week; "
            "segment rates unchanged, marketplace-wide rates move"
        )
        base = (listing_day >= m0 - 28) & (listing_day < m0) & ~ld.is_mix
        n_base = max(int(base.sum()), 1)
        extra_share = ld.is_mix[(listing_day >= m0) & (listing_day <= m1)].mean()
        for metric, flag in (
            ("listing_violation_rate", severe_act),
            ("low_quality_listing_rate", lq_act),
        ):
            hit = np.zeros(ld.n, bool)
            hit[acts["target"][flag & kept]] = True
            in_c = ld.category == c
            r_c = hit[base & in_c].mean() if (base & in_c).any() else 0.0
            r_all = hit[base].mean()
            shift = extra_share * (r_c - r_all)
            daily_sd = np.sqrt(max(r_all * (1 - r_all), 1e-9) / (n_base / 28.0))
            if abs(shift) >= 1.5 * daily_sd or metric == "listing_violation_rate":
                add(
                    "category_mix_shift",
                    metric,
                    "ALL",
                    "ALL",
                    (m0, m1),
                    "up" if shift > 0 else "down",
                    None,
                    None,
                    desc,
                )

    if plan.drop is not None:
        n_inc += 1
        d0, d1 = plan.drop
        desc = (
            f"Ingestion outage: {int(dropped.sum())} enforcement actions acted on "
            f"{clock.date_str(d0)}..{clock.date_str(d1)} are missing from the raw data"
        )
        for metric, flag in (
            ("listing_violation_rate", severe_act),
            ("low_quality_listing_rate", lq_act),
        ):
            fp = _footprint(cohort[flag & dropped], days, listings_per_day)
            if fp is not None:
                add("data_drop", metric, "ALL", "ALL", fp, "down", None, None, desc)

    for ring, span, region, n_bad in _ring_onboarding_waves(sd, acts, kept, days):
        n_inc += 1
        desc = (
            f"Ring {ring}: {n_bad} members onboarded in {C.REGIONS[region]} within days of "
            "each other and removed within 30 days"
        )
        # region-wide rows: the members' primary categories vary
        for seg_region, seg_category in _segment_and_rollups(region, -1):
            add("ring_onboarding", "bad_seller_onboarding_rate", seg_region, seg_category,
                span, "up", None, None, desc)  # fmt: skip

    for incident in plan.shaped:
        n_inc += 1
        for region, category in _segment_and_rollups(incident.region, incident.category):
            add(
                incident.shape,
                incident.metric,
                region,
                category,
                (incident.start, incident.detect_end),
                "up" if incident.multiplier >= 1.0 else "down",
                None,
                None,
                _shaped_description(incident, clock),
                shape=incident.shape,
                strength=incident.strength,
            )

    out = dict(rows)
    out["start_date"] = pa.array(np.array(rows["start_date"], "datetime64[D]"), pa.date32())
    out["end_date"] = pa.array(np.array(rows["end_date"], "datetime64[D]"), pa.date32())
    return out


def _overturned_resolutions(acts, ap, kept_idx, action_mask: np.ndarray) -> np.ndarray:
    """Resolution days of the overturned appeals of the actions in ``action_mask``."""
    appealed = kept_idx[ap["action"]]
    overturned = (ap["outcome"] == 1) & action_mask[appealed]
    return np.floor(ap["resolved"][overturned])


def _segment_and_rollups(region: int, category: int) -> list[tuple[str, str]]:
    """The incident's own segment and the roll-ups above it, most specific first."""
    r = C.REGIONS[region] if region >= 0 else "ALL"
    c = C.CATEGORIES[category] if category >= 0 else "ALL"
    out = [(r, c)]
    if r != "ALL" and c != "ALL":
        out += [(r, "ALL"), ("ALL", c)]
    if (r, c) != ("ALL", "ALL"):
        out.append(("ALL", "ALL"))
    return out


SHAPE_WORDS = {
    "drift": "drifts up over {ramp} days to x{m:.2f} and stays there",
    "level_shift": "steps up to x{m:.2f} for good",
    "weekly_pattern": "rises to x{m:.2f} on weekends only, for {length} days",
    "segment_spike": "spikes to x{m:.2f} for {length} days",
}
SHAPE_CAUSES = {
    "low_quality_listing_rate": "the probability that a new listing is low quality",
    "complaint_rate": "the probability that an order draws a complaint",
}


def _shaped_description(incident, clock) -> str:
    where = "/".join(
        [
            C.REGIONS[incident.region] if incident.region >= 0 else "all regions",
            C.CATEGORIES[incident.category] if incident.category >= 0 else "all categories",
        ]
    )
    how = SHAPE_WORDS[incident.shape].format(
        ramp=incident.ramp_days, m=incident.multiplier, length=incident.end - incident.start + 1
    )
    return (
        f"{incident.shape.replace('_', ' ').capitalize()} from {clock.date_str(incident.start)}: "
        f"in {where}, {SHAPE_CAUSES[incident.metric]} {how} (target {incident.strength:g} x "
        "the segment's daily binomial noise)"
    )


MIN_RING_WAVE = 3  # counted members that make a ring's onboarding a listed wave


def _ring_onboarding_waves(sd, acts, kept, days):
    """Planted rings whose members the bad-seller onboarding rate counts (a kept suspension or
    ban for a high or critical policy within 30 days of onboarding): (ring id, onboarding-day
    footprint, modal region, counted members) for every non-attack ring with
    at least MIN_RING_WAVE such members. Their coordinated onboarding moves the rate of their
    segment the way an attack does."""
    removal = (
        (acts["target_type"] == 1)
        & kept
        & np.isin(acts["action"], [E.A_SUSPENSION, E.A_BAN])
        & (E.SEVERITY[acts["policy"]] >= 2)
    )
    seller = acts["target"][removal]
    lag = acts["t"][removal] - sd.t_onb[seller]
    counted = np.unique(seller[(lag >= 0) & (lag <= 30.0)])
    counted = counted[sd.ring[counted] >= 0]
    counted = counted[~sd.ring_is_attack[sd.ring[counted]]]
    out = []
    for ring in np.unique(sd.ring[counted]):
        members = counted[sd.ring[counted] == ring]
        if len(members) < MIN_RING_WAVE:
            continue
        span = _footprint(np.floor(sd.t_onb[members]), days)
        if span is None:
            continue
        region = int(np.bincount(sd.region[members]).argmax())
        out.append((f"R{int(ring) + 1:04d}", span, region, len(members)))
    return out
