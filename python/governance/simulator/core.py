"""Orchestration of one simulated marketplace: raw contract tables plus ground truth."""

from __future__ import annotations

import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Enforcement:
    """What the strategies, QA, buyer complaints and the repeat-offender rule did."""

    hits: dict  # strategy hits, every strategy
    actions: dict  # enforcement actions, listing duplicates removed
    qa_checks: dict
    late_events: list  # (table, ids, event time, arrival time) of late orders and complaints


@dataclass(frozen=True)
class _Actions:
    """Enforcement actions as written: rows sorted by time, their ids, and which of them the
    ingestion outage removed from the raw data."""

    rows: dict
    ids: pa.Array
    kept: np.ndarray  # bool per row: in the raw data
    dropped: np.ndarray  # bool per row: lost to the outage

    @property
    def kept_rows(self) -> np.ndarray:
        return np.flatnonzero(self.kept)


@dataclass(frozen=True)
class _Appeals:
    rows: dict  # E.appeals: action (index into the kept actions), filed, resolved, outcome
    ids: pa.Array


def _simulate(writer, truth_dir, scale, seed, end_date, days) -> dict:
    cfg = C.SCALES[scale]
    clock = _clock(cfg, end_date, days)
    plan = plan_incidents(clock.days, seed, len(C.REGIONS), len(C.CATEGORIES))
    attack_segment = _attack_segment(seed)
    strategies = build_strategies(clock.days, plan)

    sellers = build_sellers(cfg, clock.days, plan, seed, *attack_segment)
    plan_seller_enforcement(sellers, strategies, clock.days, seed, plan)
    _write_sellers(writer, sellers, clock, seed)
    write_signals(sellers, assignments(sellers, seed), clock, seed, writer, cfg.seller_chunk)
    listings = build_listings(cfg, sellers, clock, plan, seed, attack_segment)
    write_listings(listings, clock, writer)

    enforcement = _enforce(writer, cfg, clock, plan, strategies, sellers, listings, seed)
    hits, hit_ids = _write_strategy_hits(writer, clock, enforcement.hits)
    actions = _write_actions(writer, truth_dir, clock, plan, enforcement.actions, seed)
    appeals = _write_appeals(writer, clock, actions, seed)
    check_ids = _write_qa_checks(writer, clock, enforcement.qa_checks)
    changes, change_ids = _write_strategies(writer, clock, strategies)
    event_times = [
        ("strategy_hits", hit_ids, hits["t"]),
        (
            "enforcement_actions",
            actions.ids.filter(pa.array(actions.kept)),
            actions.rows["t"][actions.kept],
        ),
        ("appeals", appeals.ids, appeals.rows["filed"]),
        ("qa_case_checks", check_ids, enforcement.qa_checks["t"]),
    ]
    n_late = _write_late_arrivals(truth_dir, clock, seed, event_times, enforcement.late_events)

    _write_seller_truth(truth_dir, sellers)
    _write_listing_truth(truth_dir, listings)
    _write_rings(truth_dir, sellers, clock)
    _write_hubs(truth_dir, sellers)
    write_truth(
        truth_dir,
        "strategy_truth",
        _strategy_truth(strategies, hits, listings, sellers, clock.days),
    )
    incidents = incident_rows(
        plan,
        clock,
        strategies,
        change_ids,
        changes,
        listings,
        sellers,
        actions.rows,
        actions.kept,
        actions.dropped,
        appeals.rows,
        actions.kept_rows,
        attack_segment,
    )
    write_truth(truth_dir, "incidents", incidents)

    truth_counts = {"missing_actions": int(actions.dropped.sum()), "late_arrivals": n_late}
    manifest = _manifest(
        scale, seed, clock, writer, plan, attack_segment, sellers, listings, incidents, truth_counts
    )
    (truth_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _manifest(
    scale, seed, clock, writer, plan, attack_segment, sellers, listings, incidents, truth_counts
) -> dict:
    """What was generated: settings, row and file counts, planted incidents, truth counts
    (``truth_counts`` adds the missing actions and late arrivals)."""
    return {
        "scale": scale,
        "seed": int(seed),
        "start_date": str(clock.start),
        "end_date": clock.date_str(clock.days - 1),
        "days": clock.days,
        "row_counts": dict(writer.rows),
        "file_counts": dict(writer.files),
        "planted_incidents": _incident_summary(incidents),
        "attack_segment": {
            "region": C.REGIONS[attack_segment[0]],
            "category": C.CATEGORIES[attack_segment[1]],
        }
        if plan.attack
        else None,
        "mix_shift_category": (
            C.CATEGORIES[listings.mix_category] if listings.mix_category >= 0 else None
        ),
        "truth_counts": {
            "bad_sellers": int(sellers.is_bad.sum()),
            "rings": len(sellers.ring_size),
            "hubs": len(_innocent_values(sellers)),
            "violating_listings": int(listings.is_violating.sum()),
            "low_quality_listings": int(listings.is_low_quality.sum()),
            **truth_counts,
        },
    }


def _clock(cfg: C.ScaleConfig, end_date: str | None, days: int | None) -> Clock:
    """The simulated period: ``days`` (default the tier's) ending on ``end_date``."""
    days = int(days or cfg.days)
    if days < 7:
        raise ValueError("days must be at least 7")
    end = np.datetime64(end_date or C.DEFAULT_END_DATE, "D")
    return Clock(end - np.timedelta64(days - 1, "D"), days)


def _attack_segment(seed: int) -> tuple[int, int]:
    """(region, category) index of the coordinated attack, drawn from a few plausible ones."""
    rng = rng_for(seed, "calendar")
    region = C.REGIONS.index(str(rng.choice(["ID", "VN", "TH"])))
    category = C.CATEGORIES.index(str(rng.choice(["fashion", "beauty", "electronics"])))
    return region, category


def _write_sellers(writer, sellers, clock: Clock, seed: int) -> None:
    number = np.arange(sellers.n)
    legal_name, email = seller_pii(
        number, sellers.region, sellers.business, C.REGIONS, rng_for(seed, "pii")
    )
    writer.write(
        "sellers",
        {
            "seller_id": ids("S", number + 1, 7),
            "registered_at": clock.ts_array(sellers.t_reg),
            "onboarded_at": clock.ts_array(sellers.t_onb),
            "region": take_str(C.REGIONS, sellers.region),
            "seller_type": take_str(("individual", "business"), sellers.business.astype(np.int64)),
            "primary_category": take_str(C.CATEGORIES, sellers.category),
            "legal_name": legal_name,
            "email": email,
            "phone": phones(number, sellers.region, C.REGIONS),
        },
    )


def _concat(*parts: dict) -> dict:
    """Column-wise concatenation of row dicts with the keys of the first."""
    return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}


def _enforce(writer, cfg, clock, plan, strategies, sellers, listings, seed) -> _Enforcement:
    """Strategy hits and actions, QA checks, orders and complaints (written here: a takedown
    ends a listing's orders) with the manual reviews complaints trigger, and the
    repeat-offender rule over all of it."""
    days = clock.days
    listing_hits, listing_actions = E.listing_hits(listings, strategies, days, seed)
    seller_hits, seller_actions = E.seller_hits_actions(sellers, days)
    hits = _concat(listing_hits, seller_hits)
    qa_checks, qa_actions = E.qa_checks(
        listings, sellers, hits, strategies, cfg, days, seed, listing_actions
    )
    listing_actions = E.dedupe_listing_actions(_concat(listing_actions, qa_actions))
    cut_at = np.minimum(
        E.first_action_time(listings.n, listing_actions), sellers.removed_at[listings.seller]
    )
    reviews, late_events, _ = generate_orders(
        cfg,
        listings,
        sellers,
        clock,
        cut_at,
        seed,
        writer,
        LATE_RATES["orders"],
        LATE_RATES["complaints"],
        plan=plan,
    )
    review_actions = _complaint_review_actions(reviews)
    actions = E.dedupe_listing_actions(
        {
            k: np.concatenate([listing_actions[k], review_actions[k], seller_actions[k]])
            for k in review_actions
        }
    )
    repeat_rule = {s.name: s for s in strategies}["repeat_offender_rule"]
    repeat_hits, repeat_actions = E.repeat_offender(
        sellers, listings, actions, repeat_rule, days, seed
    )
    return _Enforcement(
        hits=_concat(hits, repeat_hits),
        actions=_concat(actions, repeat_actions),
        qa_checks=qa_checks,
        late_events=late_events,
    )


def _complaint_review_actions(reviews: dict) -> dict:
    """Listing actions of the manual reviews buyer complaints triggered (source 2, no strategy)."""
    n = len(reviews["target"])
    return {
        "target_type": np.zeros(n, np.int8),
        "target": reviews["target"].astype(np.int64),
        "action": reviews["action"].astype(np.int8),
        "policy": reviews["policy"].astype(np.int8),
        "strategy": np.full(n, -1, np.int32),
        "t": reviews["t"].astype(np.float64),
        "is_fp": reviews["is_fp"].astype(bool),
        "source": np.full(n, 2, np.int8),
    }


def _write_strategy_hits(writer, clock: Clock, hits: dict) -> tuple[dict, pa.Array]:
    """Strategy hits by time, one file a month; returns them sorted, with their ids."""
    order = np.lexsort((hits["target"], hits["strategy"], hits["t"]))
    hits = E.take(hits, order)
    hit_ids = ids("H", np.arange(len(order)) + 1, 10)
    for rows, part in _month_parts(clock, hits["t"]):
        target_type = hits["target_type"][rows]
        writer.write(
            "strategy_hits",
            {
                "hit_id": hit_ids[rows.start : rows.stop],
                "strategy_id": _strategy_ids(hits["strategy"][rows]),
                "target_type": take_str(("listing", "seller"), target_type),
                "target_id": _target_ids(target_type, hits["target"][rows]),
                "hit_at": clock.ts_array(hits["t"][rows]),
                "risk_score": pa.array(hits["score"][rows], pa.float64(), from_pandas=True),
            },
            part=part,
        )
    if len(hits["t"]) == 0:
        writer.write_empty("strategy_hits")
    return hits, hit_ids


def _write_actions(writer, truth_dir, clock, plan, actions: dict, seed: int) -> _Actions:
    """Enforcement actions with ids by time; the ingestion outage removes part of them from the
    raw data (kept in the truth as missing_actions)."""
    order = np.lexsort((actions["target"], actions["target_type"], actions["t"]))
    actions = E.take(actions, order)
    n_actions = len(order)
    action_ids = ids("A", np.arange(n_actions) + 1, 9)
    rng = rng_for(seed, "actions")
    dropped = np.zeros(n_actions, bool)
    if plan.drop is not None:
        first_day, last_day = plan.drop
        day = np.floor(actions["t"])
        dropped = (day >= first_day) & (day <= last_day) & (rng.random(n_actions) < DATA_DROP_SHARE)
    kept = ~dropped
    columns = {
        "action_id": action_ids,
        "target_type": take_str(("listing", "seller"), actions["target_type"]),
        "target_id": _target_ids(actions["target_type"], actions["target"]),
        "action_type": take_str(C.ACTION_TYPES, actions["action"]),
        "policy_code": _policy_str(actions["policy"]),
        "strategy_id": _strategy_ids(actions["strategy"]),
        "acted_at": clock.ts_array(actions["t"]),
    }
    in_raw = pa.array(kept)
    writer.write("enforcement_actions", {k: v.filter(in_raw) for k, v in columns.items()})
    missing = pa.array(dropped)
    write_truth(
        truth_dir,
        "missing_actions",
        {
            **{k: v.filter(missing) for k, v in columns.items()},
            "reason": pa.array(["ingestion_outage"] * int(dropped.sum()), pa.string()),
        },
    )
    write_truth(
        truth_dir,
        "action_truth",
        {
            "action_id": action_ids,
            "is_false_positive": pa.array(actions["is_fp"]),
            "source": take_str(E.SOURCES, actions["source"]),
        },
    )
    return _Actions(rows=actions, ids=action_ids, kept=kept, dropped=dropped)


def _write_appeals(writer, clock: Clock, actions: _Actions, seed: int) -> _Appeals:
    """Appeals on the actions that exist in the raw data."""
    kept_rows = actions.kept_rows
    appeals = E.appeals(E.take(actions.rows, kept_rows), clock.days, seed)
    appealed_action = kept_rows[appeals["action"]]
    appeal_ids = ids("P", np.arange(len(appealed_action)) + 1, 9)
    decided = appeals["outcome"] >= 0
    outcome = take_str(("upheld", "overturned"), np.maximum(appeals["outcome"], 0))
    outcome = pc.if_else(pa.array(decided), outcome, pa.nulls(len(appealed_action), pa.string()))
    writer.write(
        "appeals",
        {
            "appeal_id": appeal_ids,
            "action_id": actions.ids.take(pa.array(appealed_action)),
            "filed_at": clock.ts_array(appeals["filed"]),
            "resolved_at": clock.ts_array(appeals["resolved"]),
            "outcome": outcome,
        },
    )
    return _Appeals(rows=appeals, ids=appeal_ids)


def _write_qa_checks(writer, clock: Clock, checks: dict) -> pa.Array:
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
    return check_ids


def _write_strategies(writer, clock: Clock, strategies) -> tuple[list, list[str]]:
    """The strategies and their change log; returns the changes and their ids."""
    strategy_ids = [s.strategy_id for s in strategies]
    writer.write(
        "strategies",
        {
            "strategy_id": pa.array(strategy_ids, pa.string()),
            "strategy_name": pa.array([s.name for s in strategies], pa.string()),
            "strategy_type": pa.array([s.stype for s in strategies], pa.string()),
            "policy_code": pa.array([s.policy for s in strategies], pa.string()),
            "target_type": pa.array([s.target for s in strategies], pa.string()),
            "launched_at": clock.ts_array(np.array([s.launched for s in strategies])),
            "retired_at": clock.ts_array(
                np.array([s.retired if s.retired < clock.days else np.nan for s in strategies])
            ),
        },
    )
    changes = strategy_changes(strategies)
    change_ids = [f"CH{i + 1:04d}" for i in range(len(changes))]
    writer.write(
        "strategy_changes",
        {
            "change_id": pa.array(change_ids, pa.string()),
            "strategy_id": pa.array([strategy_ids[c[0]] for c in changes], pa.string()),
            "changed_at": clock.ts_array(np.array([c[1] for c in changes])),
            "change_type": pa.array([c[2] for c in changes], pa.string()),
            "description": pa.array([c[3] for c in changes], pa.string()),
        },
    )
    return changes, change_ids


def _write_late_arrivals(truth_dir, clock: Clock, seed: int, event_times, late_events) -> int:
    """Sample the records of each (table, ids, event time) that arrive late (one to three days
    after the event), add the late orders and complaints, write them; returns how many."""
    rng = rng_for(seed, "late")
    late = []
    for table, table_ids, t in event_times:
        is_late = rng.random(len(t)) < LATE_RATES[table]
        arrives = t[is_late] + 1.0 + 2.0 * rng.random(is_late.sum())
        late.append((table, table_ids.filter(pa.array(is_late)), t[is_late], arrives))
    late += late_events
    write_truth(
        truth_dir,
        "late_arrivals",
        {
            "table_name": pa.concat_arrays(
                [pa.array([table] * len(t), pa.string()) for table, _, t, _ in late]
            ),
            "id": pa.concat_arrays([late_ids.cast(pa.string()) for _, late_ids, _, _ in late]),
            "event_at": clock.ts_array(np.concatenate([t for _, _, t, _ in late])),
            "arrives_at": clock.ts_array(np.concatenate([arrives for *_, arrives in late])),
        },
    )
    return int(sum(len(t) for _, _, t, _ in late))


def _write_seller_truth(truth_dir, sellers) -> None:
    write_truth(
        truth_dir,
        "sellers",
        {
            "seller_id": ids("S", np.arange(sellers.n) + 1, 7),
            "is_bad": pa.array(sellers.is_bad),
            "bad_type": pc.if_else(
                pa.array(sellers.bad_type >= 0),
                take_str(C.BAD_TYPES, np.maximum(sellers.bad_type, 0)),
                pa.nulls(sellers.n, pa.string()),
            ),
            "ring_id": pc.if_else(
                pa.array(sellers.ring >= 0),
                ids("R", np.maximum(sellers.ring, 0) + 1, 4),
                pa.nulls(sellers.n, pa.string()),
            ),
            "caught_at_onboarding": pa.array(sellers.caught_at_onboarding),
            "is_attacker": pa.array(sellers.is_attacker),
            "hub_kinds": _hub_kinds(sellers),
        },
    )


def _write_listing_truth(truth_dir, listings) -> None:
    write_truth(
        truth_dir,
        "listings",
        {
            "listing_id": ids("L", np.arange(listings.n) + 1, 9),
            "is_violating": pa.array(listings.is_violating),
            "true_policy_code": _policy_str(listings.policy),
            "is_low_quality": pa.array(listings.is_low_quality),
            "is_attack": pa.array(listings.is_attack),
            "is_mix_shift_extra": pa.array(listings.is_mix),
        },
    )


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
