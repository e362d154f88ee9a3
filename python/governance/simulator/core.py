"""Orchestration of one simulated marketplace: raw contract tables plus ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import config as C
from . import enforcement as E
from .incidents import plan_incidents
from .listings import build_listings, write_listings
from .orders import generate_orders
from .pii import phones, seller_pii, signal_values
from .sellers import (
    FAMILY_CODE,
    RING_SHAPES,
    build_sellers,
    family_kind,
    plan_seller_enforcement,
)
from .signals import HUB_OFFSET, assignments, write_signals
from .strategies import build_strategies, strategy_changes
from .truth import incident_rows
from .util import Clock, ids, rng_for, take_str
from .writer import RawWriter, prepare_dirs, write_truth

LATE_RATES = {
    "strategy_hits": 0.05,
    "enforcement_actions": 0.05,
    "appeals": 0.03,
    "qa_case_checks": 0.03,
    "orders": 0.02,
    "complaints": 0.04,
}
DATA_DROP_SHARE = 0.85


def _month_parts(clock: Clock, t: np.ndarray):
    months = (clock.start + np.floor(t).astype("timedelta64[D]")).astype("datetime64[M]")
    bounds = np.flatnonzero(np.r_[True, months[1:] != months[:-1], True])
    for i in range(len(bounds) - 1):
        yield slice(int(bounds[i]), int(bounds[i + 1])), str(months[bounds[i]])


def _target_ids(target_type: np.ndarray, target: np.ndarray) -> pa.Array:
    lis = ids("L", target + 1, 9)
    sel = ids("S", target + 1, 7)
    return pc.if_else(pa.array(target_type == 0), lis, sel)


def _strategy_ids(strategy: np.ndarray) -> pa.Array:
    s = ids("ST", np.maximum(strategy, 0) + 1, 3)
    return pc.if_else(pa.array(strategy >= 0), s, pa.nulls(len(strategy), pa.string()))


def _policy_str(policy: np.ndarray) -> pa.Array:
    s = take_str(C.POLICY_CODES, np.maximum(policy, 0))
    return pc.if_else(pa.array(policy >= 0), s, pa.nulls(len(policy), pa.string()))


def generate(
    raw_dir: str | Path,
    truth_dir: str | Path,
    scale: str = "small",
    seed: int = 42,
    end_date: str | None = None,
    days: int | None = None,
) -> dict:
    """Generate one simulated marketplace.

    Writes the raw data contract under ``raw_dir/<table>/*.parquet`` and the ground truth under
    ``truth_dir``; returns the manifest (also written to ``truth_dir/manifest.json``). The same
    (scale, seed, end_date, days) always gives byte-identical files.
    """
    if scale not in C.SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {sorted(C.SCALES)}")
    raw_dir, truth_dir = Path(raw_dir), Path(truth_dir)
    prepare_dirs(raw_dir, truth_dir)
    with RawWriter(raw_dir) as writer:
        return _simulate(writer, truth_dir, scale, int(seed), end_date, days)


def _simulate(writer, truth_dir, scale, seed, end_date, days) -> dict:
    cfg = C.SCALES[scale]
    days = int(days or cfg.days)
    if days < 7:
        raise ValueError("days must be at least 7")
    end = np.datetime64(end_date or C.DEFAULT_END_DATE, "D")
    start = end - np.timedelta64(days - 1, "D")
    clock = Clock(start, days)

    plan = plan_incidents(days, seed, len(C.REGIONS), len(C.CATEGORIES))
    rng_cal = rng_for(seed, "calendar")
    attack_region = C.REGIONS.index(str(rng_cal.choice(["ID", "VN", "TH"])))
    attack_category = C.CATEGORIES.index(str(rng_cal.choice(["fashion", "beauty", "electronics"])))
    strategies = build_strategies(days, plan)
    by_name = {s.name: s for s in strategies}

    # --- sellers and identity signals ---------------------------------------------------------
    sd = build_sellers(cfg, days, plan, seed, attack_region, attack_category)
    plan_seller_enforcement(sd, strategies, days, seed, plan)
    idx = np.arange(sd.n)
    legal_name, email = seller_pii(idx, sd.region, sd.business, C.REGIONS, rng_for(seed, "pii"))
    writer.write(
        "sellers",
        {
            "seller_id": ids("S", idx + 1, 7),
            "registered_at": clock.ts_array(sd.t_reg),
            "onboarded_at": clock.ts_array(sd.t_onb),
            "region": take_str(C.REGIONS, sd.region),
            "seller_type": take_str(("individual", "business"), sd.business.astype(np.int64)),
            "primary_category": take_str(C.CATEGORIES, sd.category),
            "legal_name": legal_name,
            "email": email,
            "phone": phones(idx, sd.region, C.REGIONS),
        },
    )
    asg = assignments(sd, seed)
    write_signals(sd, asg, clock, seed, writer, cfg.seller_chunk)

    # --- listings -------------------------------------------------------------------------------
    ld = build_listings(cfg, sd, clock, plan, seed, (attack_region, attack_category))
    write_listings(ld, clock, writer)

    # --- detection and enforcement ---------------------------------------------------------------
    hits_l, acts_l = E.listing_hits(ld, strategies, days, seed)
    hits_s, acts_s = E.seller_hits_actions(sd, days)
    hits_ls = {k: np.concatenate([hits_l[k], hits_s[k]]) for k in hits_l}
    checks, acts_qa = E.qa_checks(ld, sd, hits_ls, strategies, cfg, days, seed, acts_l)
    listing_acts = E.dedupe_listing_actions(
        {k: np.concatenate([acts_l[k], acts_qa[k]]) for k in acts_l}
    )
    cut_at = np.minimum(E.first_action_time(ld.n, listing_acts), sd.removed_at[ld.seller])
    late_events = []
    man, late_oc, order_stats = generate_orders(
        cfg,
        ld,
        sd,
        clock,
        cut_at,
        seed,
        writer,
        LATE_RATES["orders"],
        LATE_RATES["complaints"],
        plan=plan,
    )
    late_events.extend(late_oc)
    acts_c = {
        "target_type": np.zeros(len(man["target"]), np.int8),
        "target": man["target"].astype(np.int64),
        "action": man["action"].astype(np.int8),
        "policy": man["policy"].astype(np.int8),
        "strategy": np.full(len(man["target"]), -1, np.int32),
        "t": man["t"].astype(np.float64),
        "is_fp": man["is_fp"].astype(bool),
        "source": np.full(len(man["target"]), 2, np.int8),
    }
    acts = E.dedupe_listing_actions(
        {k: np.concatenate([listing_acts[k], acts_c[k], acts_s[k]]) for k in acts_c}
    )
    hits_r, acts_r = E.repeat_offender(sd, ld, acts, by_name["repeat_offender_rule"], days, seed)
    acts = {k: np.concatenate([acts[k], acts_r[k]]) for k in acts}
    hits = {k: np.concatenate([hits_ls[k], hits_r[k]]) for k in hits_ls}

    # strategy hits, by month
    order = np.lexsort((hits["target"], hits["strategy"], hits["t"]))
    hits = E.take(hits, order)
    hit_ids = ids("H", np.arange(len(order)) + 1, 10)
    for sl, part in _month_parts(clock, hits["t"]):
        tt = hits["target_type"][sl]
        writer.write(
            "strategy_hits",
            {
                "hit_id": hit_ids[sl.start : sl.stop],
                "strategy_id": _strategy_ids(hits["strategy"][sl]),
                "target_type": take_str(("listing", "seller"), tt),
                "target_id": _target_ids(tt, hits["target"][sl]),
                "hit_at": clock.ts_array(hits["t"][sl]),
                "risk_score": pa.array(hits["score"][sl], pa.float64(), from_pandas=True),
            },
            part=part,
        )
    if len(hits["t"]) == 0:
        writer.write_empty("strategy_hits")

    # enforcement actions: ids by time, then the ingestion outage removes part of them
    order = np.lexsort((acts["target"], acts["target_type"], acts["t"]))
    acts = E.take(acts, order)
    n_act = len(order)
    action_ids = ids("A", np.arange(n_act) + 1, 9)
    rng_a = rng_for(seed, "actions")
    dropped = np.zeros(n_act, bool)
    if plan.drop is not None:
        d0, d1 = plan.drop
        day = np.floor(acts["t"])
        dropped = (day >= d0) & (day <= d1) & (rng_a.random(n_act) < DATA_DROP_SHARE)
    kept = ~dropped
    act_cols = {
        "action_id": action_ids,
        "target_type": take_str(("listing", "seller"), acts["target_type"]),
        "target_id": _target_ids(acts["target_type"], acts["target"]),
        "action_type": take_str(C.ACTION_TYPES, acts["action"]),
        "policy_code": _policy_str(acts["policy"]),
        "strategy_id": _strategy_ids(acts["strategy"]),
        "acted_at": clock.ts_array(acts["t"]),
    }
    mask = pa.array(kept)
    writer.write("enforcement_actions", {k: v.filter(mask) for k, v in act_cols.items()})
    miss = pa.array(dropped)
    write_truth(
        truth_dir,
        "missing_actions",
        {
            **{k: v.filter(miss) for k, v in act_cols.items()},
            "reason": pa.array(["ingestion_outage"] * int(dropped.sum()), pa.string()),
        },
    )
    write_truth(
        truth_dir,
        "action_truth",
        {
            "action_id": action_ids,
            "is_false_positive": pa.array(acts["is_fp"]),
            "source": take_str(E.SOURCES, acts["source"]),
        },
    )

    # appeals on the actions that exist in the raw data
    kept_idx = np.flatnonzero(kept)
    ap = E.appeals(E.take(acts, kept_idx), days, seed)
    ap_action = kept_idx[ap["action"]]
    appeal_ids = ids("P", np.arange(len(ap_action)) + 1, 9)
    outcome = take_str(("upheld", "overturned"), np.maximum(ap["outcome"], 0))
    outcome = pc.if_else(
        pa.array(ap["outcome"] >= 0), outcome, pa.nulls(len(ap_action), pa.string())
    )
    writer.write(
        "appeals",
        {
            "appeal_id": appeal_ids,
            "action_id": action_ids.take(pa.array(ap_action)),
            "filed_at": clock.ts_array(ap["filed"]),
            "resolved_at": clock.ts_array(ap["resolved"]),
            "outcome": outcome,
        },
    )

    # QA case checks
    check_ids = ids("Q", np.arange(len(checks["t"])) + 1, 9)
    writer.write(
        "qa_case_checks",
        {
            "check_id": check_ids,
            "target_type": take_str(("listing", "seller"), checks["target_type"]),
            "target_id": _target_ids(checks["target_type"], checks["target"]),
            "sample_type": take_str(("random", "flagged"), checks["sample"]),
            "strategy_id": _strategy_ids(checks["strategy"]),
            "checked_at": clock.ts_array(checks["t"]),
            "is_violation": pa.array(checks["is_violation"]),
            "policy_code": _policy_str(checks["policy"]),
        },
    )

    # strategies and their change log
    sids = [s.strategy_id for s in strategies]
    writer.write(
        "strategies",
        {
            "strategy_id": pa.array(sids, pa.string()),
            "strategy_name": pa.array([s.name for s in strategies], pa.string()),
            "strategy_type": pa.array([s.stype for s in strategies], pa.string()),
            "policy_code": pa.array([s.policy for s in strategies], pa.string()),
            "target_type": pa.array([s.target for s in strategies], pa.string()),
            "launched_at": clock.ts_array(np.array([s.launched for s in strategies])),
            "retired_at": clock.ts_array(
                np.array([s.retired if s.retired < days else np.nan for s in strategies])
            ),
        },
    )
    changes = strategy_changes(strategies)
    change_ids = [f"CH{i + 1:04d}" for i in range(len(changes))]
    writer.write(
        "strategy_changes",
        {
            "change_id": pa.array(change_ids, pa.string()),
            "strategy_id": pa.array([sids[c[0]] for c in changes], pa.string()),
            "changed_at": clock.ts_array(np.array([c[1] for c in changes])),
            "change_type": pa.array([c[2] for c in changes], pa.string()),
            "description": pa.array([c[3] for c in changes], pa.string()),
        },
    )

    # --- late arrivals --------------------------------------------------------------------------
    rng_l = rng_for(seed, "late")

    def sample_late(table, id_arr, t):
        m = rng_l.random(len(t)) < LATE_RATES[table]
        return (table, id_arr.filter(pa.array(m)), t[m], t[m] + 1.0 + 2.0 * rng_l.random(m.sum()))

    late_all = [
        sample_late("strategy_hits", hit_ids, hits["t"]),
        sample_late("enforcement_actions", action_ids.filter(mask), acts["t"][kept]),
        sample_late("appeals", appeal_ids, ap["filed"]),
        sample_late("qa_case_checks", check_ids, checks["t"]),
        *late_events,
    ]
    write_truth(
        truth_dir,
        "late_arrivals",
        {
            "table_name": pa.concat_arrays(
                [pa.array([x[0]] * len(x[2]), pa.string()) for x in late_all]
            ),
            "id": pa.concat_arrays([x[1].cast(pa.string()) for x in late_all]),
            "event_at": clock.ts_array(np.concatenate([x[2] for x in late_all])),
            "arrives_at": clock.ts_array(np.concatenate([x[3] for x in late_all])),
        },
    )

    # --- ground truth ---------------------------------------------------------------------------
    hub_kinds = _hub_kinds(sd)
    write_truth(
        truth_dir,
        "sellers",
        {
            "seller_id": ids("S", idx + 1, 7),
            "is_bad": pa.array(sd.is_bad),
            "bad_type": pc.if_else(
                pa.array(sd.bad_type >= 0),
                take_str(C.BAD_TYPES, np.maximum(sd.bad_type, 0)),
                pa.nulls(sd.n, pa.string()),
            ),
            "ring_id": pc.if_else(
                pa.array(sd.ring >= 0),
                ids("R", np.maximum(sd.ring, 0) + 1, 4),
                pa.nulls(sd.n, pa.string()),
            ),
            "caught_at_onboarding": pa.array(sd.caught_at_onboarding),
            "is_attacker": pa.array(sd.is_attacker),
            "hub_kinds": hub_kinds,
        },
    )
    write_truth(
        truth_dir,
        "listings",
        {
            "listing_id": ids("L", np.arange(ld.n) + 1, 9),
            "is_violating": pa.array(ld.is_violating),
            "true_policy_code": _policy_str(ld.policy),
            "is_low_quality": pa.array(ld.is_low_quality),
            "is_attack": pa.array(ld.is_attack),
            "is_mix_shift_extra": pa.array(ld.is_mix),
        },
    )
    _write_rings(truth_dir, sd, clock)
    _write_hubs(truth_dir, sd)
    write_truth(truth_dir, "strategy_truth", _strategy_truth(strategies, hits, ld, sd, days))

    incidents = incident_rows(
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
        (attack_region, attack_category),
    )
    write_truth(truth_dir, "incidents", incidents)

    manifest = {
        "scale": scale,
        "seed": int(seed),
        "start_date": str(start),
        "end_date": str(end),
        "days": days,
        "row_counts": dict(writer.rows),
        "file_counts": dict(writer.files),
        "planted_incidents": _incident_summary(incidents),
        "attack_segment": {
            "region": C.REGIONS[attack_region],
            "category": C.CATEGORIES[attack_category],
        }
        if plan.attack
        else None,
        "mix_shift_category": C.CATEGORIES[ld.mix_category] if ld.mix_category >= 0 else None,
        "truth_counts": {
            "bad_sellers": int(sd.is_bad.sum()),
            "rings": len(sd.ring_size),
            "hubs": len(_innocent_values(sd)),
            "violating_listings": int(ld.is_violating.sum()),
            "low_quality_listings": int(ld.is_low_quality.sum()),
            "missing_actions": int(dropped.sum()),
            "late_arrivals": int(sum(len(x[2]) for x in late_all)),
        },
    }
    (truth_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _innocent_values(sd) -> list[tuple[str, int, int, np.ndarray]]:
    """Every innocently shared value: (hub_kind, signal_type, value code, holders), the holders
    of public IPs including the members of rings that also use them."""
    touching = {}
    for r in np.flatnonzero(sd.ring_hub >= 0):
        touching.setdefault(int(sd.ring_hub[r]), []).append(np.flatnonzero(sd.ring == r))
    out = []
    for h, (kind, t, code, members) in enumerate(sd.hubs):
        holders = np.unique(np.concatenate([members, *touching.get(h, [])]))
        out.append((kind, t, HUB_OFFSET + code, holders))
    for g, grp in enumerate(sd.family_groups):
        kind = family_kind("device", sd.family_together[g])
        out.append((kind, 0, HUB_OFFSET + FAMILY_CODE + g, grp))
    for kind, t, code, members, _ in sd.innocent:
        out.append((kind, t, HUB_OFFSET + code, members))
    return out


def _hub_kinds(sd) -> pa.Array:
    kinds = [[] for _ in range(sd.n)]
    for kind, _, _, members in _innocent_values(sd):
        for m in members.tolist():
            if kind not in kinds[m]:
                kinds[m].append(kind)
    return pa.array([",".join(k) if k else None for k in kinds], pa.string())


def _write_rings(truth_dir, sd, clock) -> None:
    n_r = len(sd.ring_size)
    members = np.flatnonzero(sd.ring >= 0)
    first = np.full(n_r, np.inf)
    last = np.full(n_r, -np.inf)
    np.minimum.at(first, sd.ring[members], sd.t_reg[members])
    np.maximum.at(last, sd.ring[members], sd.t_reg[members])
    cat_counts = np.zeros((n_r, len(C.CATEGORIES)), np.int64)
    np.add.at(cat_counts, (sd.ring[members], sd.category[members]), 1)
    shared_types = [
        ",".join(C.SIGNAL_TYPES[t] for t in tt)
        for tt in sd.ring_types
    ]  # fmt: skip
    by_shape = {
        "star": "device_id,bank_account,phone",
        "partial_overlap": "device_id,bank_account,address",
        "rotation_chain": "device_id,phone",
        "weak_ties": "address,phone",
    }
    shapes = [RING_SHAPES[s] for s in sd.ring_shape]
    shared_types = [by_shape.get(s, d) for s, d in zip(shapes, shared_types, strict=True)]
    write_truth(
        truth_dir,
        "rings",
        {
            "ring_id": ids("R", np.arange(n_r) + 1, 4),
            "size": pa.array(sd.ring_size.astype(np.int32)),
            "region": take_str(C.REGIONS, sd.ring_region),
            "primary_category": take_str(C.CATEGORIES, cat_counts.argmax(axis=1)),
            "shared_signal_types": pa.array(shared_types, pa.string()),
            "first_registered_at": clock.ts_array(first),
            "last_registered_at": clock.ts_array(last),
            "is_attack_ring": pa.array(sd.ring_is_attack),
            "shape": pa.array(shapes, pa.string()),
            "touches_hub": pa.array(sd.ring_hub >= 0),
            "adoption_spread_days": pa.array(last - first, pa.float64()),
            "missing_share": pa.array(sd.ring_missing_share, pa.float64()),
        },
    )


def _write_hubs(truth_dir, sd) -> None:
    values = _innocent_values(sd)
    t = np.array([v[1] for v in values], np.int8)
    codes = np.array([v[2] for v in values], np.int64)
    regions = np.array([sd.region[v[3][0]] for v in values], np.int8)
    text = signal_values(t, codes, regions, C.REGIONS)
    write_truth(
        truth_dir,
        "hubs",
        {
            "signal_type": take_str(C.SIGNAL_TYPES, t),
            "signal_value": text,
            "hub_kind": pa.array([v[0] for v in values], pa.string()),
            "n_sellers": pa.array(np.array([len(v[3]) for v in values], np.int32)),
            "region": take_str(C.REGIONS, regions.astype(np.int64)),
        },
    )
    sizes = np.array([len(v[3]) for v in values], np.int64)
    row = np.repeat(np.arange(len(values)), sizes)
    holders = np.concatenate([v[3] for v in values]) if values else np.zeros(0, np.int64)
    write_truth(
        truth_dir,
        "innocent_sharing",
        {
            "signal_type": take_str(C.SIGNAL_TYPES, t[row]),
            "signal_value": text.take(pa.array(row)),
            "hub_kind": pa.array([values[i][0] for i in row], pa.string()),
            "seller_id": ids("S", holders + 1, 7),
        },
    )


def _strategy_truth(strategies, hits, ld, sd, days) -> dict:
    rows = {
        k: []
        for k in (
            "strategy_id",
            "strategy_name",
            "policy_code",
            "target_type",
            "is_shadow",
            "recall_setting",
            "fp_rate_setting",
            "threshold_setting",
            "act_probability",
            "realised_precision",
            "realised_recall",
            "n_hits",
        )
    }
    seller_target_type = {
        "identity_fraud": "fraud_ring",
        "incentive_abuse": "incentive_abuser",
        "brushing": "brusher",
    }
    onb = ~np.isnan(sd.t_onb)
    for st in strategies:
        h = hits["strategy"] == st.idx
        n_h = int(h.sum())
        prec = float(hits["is_tp"][h].mean()) if n_h else float("nan")
        if st.target == "listing":
            lo, hi = max(st.launched, 0.0), min(st.retired, days)
            live = (ld.t >= lo) & (ld.t < hi)
            relevant = int((live & (ld.policy == C.POLICY_CODES.index(st.policy))).sum())
            tp = int((hits["is_tp"][h] & (hits["t"][h] >= lo)).sum())
            rec = tp / relevant if relevant else float("nan")
        elif st.policy in seller_target_type:
            bt = C.BAD_TYPES.index(seller_target_type[st.policy])
            relevant = int(
                (onb & (sd.bad_type == bt) & (sd.t_onb < days) & (sd.removed_at >= 0)).sum()
            )
            rec = int(hits["is_tp"][h].sum()) / relevant if relevant else float("nan")
        else:
            rec = float("nan")
        rows["strategy_id"].append(st.strategy_id)
        rows["strategy_name"].append(st.name)
        rows["policy_code"].append(st.policy)
        rows["target_type"].append(st.target)
        rows["is_shadow"].append(st.shadow)
        rows["recall_setting"].append(st.recall)
        rows["fp_rate_setting"].append(st.fp)
        rows["threshold_setting"].append(st.threshold if st.threshold is not None else None)
        rows["act_probability"].append(0.0 if st.shadow else st.act_prob)
        rows["realised_precision"].append(prec)
        rows["realised_recall"].append(rec)
        rows["n_hits"].append(n_h)
    return rows


def _incident_summary(inc: dict) -> list[dict]:
    out: dict[str, dict] = {}
    for i in range(len(inc["incident_id"])):
        iid = inc["incident_id"][i]
        e = out.setdefault(
            iid,
            {
                "incident_id": iid,
                "incident_type": inc["incident_type"][i],
                "strategy_id": inc["strategy_id"][i],
                "change_id": inc["change_id"][i],
                "description": inc["description"][i],
                "metrics": [],
            },
        )
        e["metrics"].append(
            {
                "metric_name": inc["metric_name"][i],
                "region": inc["region"][i],
                "category": inc["category"][i],
                "start_date": str(inc["start_date"][i]),
                "end_date": str(inc["end_date"][i]),
                "direction": inc["direction"][i],
                "shape": inc["shape"][i],
                "is_consequence": bool(inc["is_consequence"][i]),
            }
        )
    return list(out.values())
