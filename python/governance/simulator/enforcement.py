"""Strategy hits, enforcement actions, QA checks and appeals."""

from __future__ import annotations

import numpy as np

from . import config as C
from .listings import ListingData
from .sellers import SellerData
from .strategies import Strategy
from .util import rng_for

SEVERITY = np.array(
    [{"critical": 3, "high": 2, "medium": 1, "low": 0}[C.POLICIES[p][0]] for p in C.POLICY_CODES]
)
IS_LQ_POLICY = np.array([C.POLICIES[p][1] for p in C.POLICY_CODES])
A_TAKEDOWN = C.ACTION_TYPES.index("listing_takedown")
A_LIMIT = C.ACTION_TYPES.index("listing_limit")
A_WARNING = C.ACTION_TYPES.index("seller_warning")
A_SUSPENSION = C.ACTION_TYPES.index("seller_suspension")
A_BAN = C.ACTION_TYPES.index("seller_ban")
P_INCENTIVE = C.POLICY_CODES.index("incentive_abuse")
SOURCES = ("strategy", "qa_finding", "complaint_review", "seller_investigation", "repeat_offender")

HIT_KEYS = ("strategy", "target_type", "target", "t", "score", "is_tp")
ACTION_KEYS = ("target_type", "target", "action", "policy", "strategy", "t", "is_fp", "source")


def empty(keys):
    return {k: [] for k in keys}


def concat(parts: dict) -> dict:
    dtypes = {
        "strategy": np.int32,
        "target_type": np.int8,
        "target": np.int64,
        "t": np.float64,
        "score": np.float64,
        "is_tp": bool,
        "action": np.int8,
        "policy": np.int8,
        "is_fp": bool,
        "source": np.int8,
    }
    return {
        k: (np.concatenate(v).astype(dtypes[k]) if v else np.zeros(0, dtypes[k]))
        for k, v in parts.items()
    }


def take(d: dict, idx) -> dict:
    return {k: v[idx] for k, v in d.items()}


def listing_action_type(rng, policy: np.ndarray) -> np.ndarray:
    sev = SEVERITY[policy]
    limit = (sev == 0) | ((sev == 1) & (rng.random(len(policy)) < 0.6))
    return np.where(limit, A_LIMIT, A_TAKEDOWN).astype(np.int8)


def listing_fp(ld: ListingData, target: np.ndarray, policy: np.ndarray) -> np.ndarray:
    """An action is a false positive if the listing is clean, or a severe-policy action hits a
    listing that only has a quality problem."""
    clean = ~(ld.is_violating[target] | ld.is_low_quality[target])
    return clean | (~IS_LQ_POLICY[policy] & ~ld.is_violating[target])


def listing_hits(ld: ListingData, strategies: list[Strategy], days: int, seed: int):
    hits, acts = empty(HIT_KEYS), empty(ACTION_KEYS)
    for st in strategies:
        if st.target != "listing":
            continue
        rng = rng_for(seed, "hits", st.idx)
        pcode = C.POLICY_CODES.index(st.policy)
        match = ld.policy == pcode
        rmax, fmax = st.max_rates()
        u = rng.random(ld.n)
        cand = np.flatnonzero(u < np.where(match, rmax, fmax))
        if st.stype == "rule":
            lag = rng.exponential(0.08, len(cand))
        else:
            lag = rng.gamma(1.5, 0.6, len(cand))
        t_hit = ld.t[cand] + np.minimum(lag, 6.0)
        live = (t_hit >= st.launched) & (t_hit < min(st.retired, days))
        cand, t_hit = cand[live], t_hit[live]
        rec, fpr, thr = st.params_at(t_hit)
        m = match[cand]
        keep = u[cand] < np.where(m, rec, fpr)
        cand, t_hit, m, thr = cand[keep], t_hit[keep], m[keep], thr[keep]
        if st.stype == "model":
            score = thr + (1 - thr) * np.where(
                m, rng.beta(5, 2, len(cand)), rng.beta(2, 4, len(cand))
            )
        else:
            score = np.full(len(cand), np.nan)
        hits["strategy"].append(np.full(len(cand), st.idx))
        hits["target_type"].append(np.zeros(len(cand)))
        hits["target"].append(cand)
        hits["t"].append(t_hit)
        hits["score"].append(score)
        hits["is_tp"].append(m)
        if st.shadow:
            continue
        act = rng.random(len(cand)) < st.act_prob
        delay = (
            rng.random(len(cand)) * 0.01
            if st.stype == "rule"
            else 0.02 + rng.random(len(cand)) * 0.45
        )
        t_act = t_hit + delay
        act &= t_act < days
        tgt = cand[act]
        pol = np.full(len(tgt), pcode)
        acts["target_type"].append(np.zeros(len(tgt)))
        acts["target"].append(tgt)
        acts["action"].append(listing_action_type(rng, pol))
        acts["policy"].append(pol)
        acts["strategy"].append(np.full(len(tgt), st.idx))
        acts["t"].append(t_act[act])
        acts["is_fp"].append(listing_fp(ld, tgt, pol))
        acts["source"].append(np.zeros(len(tgt)))
    return concat(hits), concat(acts)


def seller_hits_actions(sd: SellerData, days: int):
    ev = sd.events
    hits, acts = empty(HIT_KEYS), empty(ACTION_KEYS)
    h = (ev["strategy"] >= 0) & np.isfinite(ev["t_hit"]) & (ev["t_hit"] >= 0) & (ev["t_hit"] < days)
    hits["strategy"].append(ev["strategy"][h])
    hits["target_type"].append(np.ones(h.sum()))
    hits["target"].append(ev["seller"][h])
    hits["t"].append(ev["t_hit"][h])
    hits["score"].append(ev["score"][h])
    hits["is_tp"].append(~ev["is_fp"][h])
    a = np.isfinite(ev["t_act"]) & (ev["t_act"] >= 0) & (ev["t_act"] < days)
    acts["target_type"].append(np.ones(a.sum()))
    acts["target"].append(ev["seller"][a])
    acts["action"].append(ev["action"][a])
    acts["policy"].append(ev["policy"][a])
    acts["strategy"].append(ev["strategy"][a])
    acts["t"].append(ev["t_act"][a])
    acts["is_fp"].append(ev["is_fp"][a])
    acts["source"].append(np.where(ev["strategy"][a] >= 0, 0, 3))
    return concat(hits), concat(acts)


def first_action_time(n: int, acts: dict, action_types=(A_TAKEDOWN,)) -> np.ndarray:
    """Earliest time of the given listing action types per listing (inf if none)."""
    out = np.full(n, np.inf)
    m = (acts["target_type"] == 0) & np.isin(acts["action"], action_types)
    np.minimum.at(out, acts["target"][m], acts["t"][m])
    return out


def qa_checks(
    ld: ListingData, sd: SellerData, hits: dict, strategies, cfg, days, seed, listing_acts: dict
):
    """Random and flagged QA samples; violations found on unactioned listings get a manual
    action."""
    rng = rng_for(seed, "qa")
    parts = [
        _random_listing_checks(rng, ld, cfg, days),
        _random_seller_checks(sd, days),
        *_flagged_checks(rng, ld, sd, hits, cfg, days),
    ]
    checks = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    checks = take(checks, np.lexsort((checks["target"], checks["t"])))
    return checks, _qa_finding_actions(rng, ld, checks, listing_acts, days)


def _check_rows(target_type, target, sample, strategy, t, is_violation, policy) -> dict:
    """QA check rows: target type 0 listing / 1 seller, sample 0 random / 1 flagged."""
    return {
        "target_type": np.full(len(target), target_type, np.int8),
        "target": np.asarray(target, np.int64),
        "sample": np.full(len(target), sample, np.int8),
        "strategy": np.asarray(strategy, np.int32),
        "t": np.asarray(t, np.float64),
        "is_violation": np.asarray(is_violation, bool),
        "policy": np.asarray(policy, np.int8),
    }


def _judge_listings(rng, ld: ListingData, target: np.ndarray):
    """A reviewer's verdict on listings: 95 % of real problems seen, 1.5 % of clean listings
    wrongly found violating (a random quality policy, or a severe one four times in ten).
    Returns (is_violation, policy or -1)."""
    severe_codes = np.array([C.POLICY_CODES.index(p) for p in C.SEVERE_LISTING_POLICIES])
    low_quality_codes = np.array([C.POLICY_CODES.index(p) for p in C.LOW_QUALITY_POLICIES])
    has_problem = ld.policy[target] >= 0
    n = len(target)
    seen = np.where(has_problem, rng.random(n) < 0.95, rng.random(n) < 0.015)
    policy = np.where(has_problem, ld.policy[target], low_quality_codes[rng.integers(0, 4, n)])
    wrongly_severe = ~has_problem & (rng.random(n) < 0.4)
    policy = np.where(wrongly_severe, severe_codes[rng.integers(0, 5, n)], policy)
    return seen, np.where(seen, policy, -1)


def _seller_finding_policy(sd: SellerData, seller, is_violation) -> np.ndarray:
    """The policy of a QA finding on a seller: its bad type's, incentive abuse for a good
    seller wrongly found violating, -1 without a finding."""
    seller_policy = np.array([C.POLICY_CODES.index(p) for p in C.BAD_TYPE_SELLER_POLICY])
    policy = np.where(is_violation, seller_policy[sd.bad_type[seller].clip(0)], -1)
    return np.where(is_violation & ~sd.is_bad[seller], P_INCENTIVE, policy)


def _random_listing_checks(rng, ld: ListingData, cfg, days) -> dict:
    """The random listing sample, reviewed 2-5 days after creation."""
    listing = np.flatnonzero(rng.random(ld.n) < cfg.random_qa_rate)
    t = ld.t[listing] + 2.0 + rng.random(len(listing)) * 3.0
    in_period = t < days
    listing, t = listing[in_period], t[in_period]
    is_violation, policy = _judge_listings(rng, ld, listing)
    return _check_rows(0, listing, 0, np.full(len(listing), -1), t, is_violation, policy)


def _random_seller_checks(sd: SellerData, days) -> dict:
    """The random seller sample (decided with the seller plan)."""
    qa = sd.qa
    in_period = (qa["t"] >= 0) & (qa["t"] < days)
    policy = _seller_finding_policy(sd, qa["seller"], qa["is_violation"])
    return _check_rows(
        1,
        qa["seller"][in_period],
        0,
        np.full(in_period.sum(), -1),
        qa["t"][in_period],
        qa["is_violation"][in_period],
        policy[in_period],
    )


def _flagged_checks(rng, ld: ListingData, sd: SellerData, hits, cfg, days) -> tuple[dict, dict]:
    """Flagged samples of every strategy's hits (shadow strategies included), reviewed 1-4
    days after the hit: listing checks, seller checks (nine bad sellers in ten found)."""
    flagged = np.flatnonzero(rng.random(len(hits["t"])) < cfg.flagged_qa_rate)
    t = hits["t"][flagged] + 1.0 + rng.random(len(flagged)) * 3.0
    flagged, t = flagged[t < days], t[t < days]
    on_listing = hits["target_type"][flagged] == 0
    strategy = hits["strategy"][flagged]
    listing = hits["target"][flagged][on_listing]
    is_violation, policy = _judge_listings(rng, ld, listing)
    listing_checks = _check_rows(
        0, listing, 1, strategy[on_listing], t[on_listing], is_violation, policy
    )
    seller = hits["target"][flagged][~on_listing]
    bad = sd.is_bad[seller]
    is_violation = np.where(bad, rng.random(len(seller)) < 0.9, rng.random(len(seller)) < 0.03)
    policy = _seller_finding_policy(sd, seller, is_violation)
    seller_checks = _check_rows(
        1, seller, 1, strategy[~on_listing], t[~on_listing], is_violation, policy
    )
    return listing_checks, seller_checks


def _qa_finding_actions(rng, ld: ListingData, checks: dict, listing_acts: dict, days) -> dict:
    """Manual actions on QA findings for listings not yet actioned: eight in ten, within a
    day, one per listing."""
    first_act = first_action_time(ld.n, listing_acts, (A_TAKEDOWN, A_LIMIT))
    finding = np.flatnonzero((checks["target_type"] == 0) & checks["is_violation"])
    t_act = checks["t"][finding] + 0.1 + rng.random(len(finding)) * 0.9
    acted = (
        (first_act[checks["target"][finding]] > checks["t"][finding])
        & (rng.random(len(finding)) < 0.8)
        & (t_act < days)
    )
    finding, t_act = finding[acted], t_act[acted]
    target = checks["target"][finding]
    _, first = np.unique(target, return_index=True)
    finding, t_act, target = finding[first], t_act[first], target[first]
    policy = checks["policy"][finding]
    return {
        "target_type": np.zeros(len(finding), np.int8),
        "target": target,
        "action": listing_action_type(rng, policy),
        "policy": policy.astype(np.int8),
        "strategy": np.full(len(finding), -1, np.int32),
        "t": t_act,
        "is_fp": listing_fp(ld, target, policy),
        "source": np.full(len(finding), 1, np.int8),
    }


def dedupe_listing_actions(acts: dict) -> dict:
    """Per listing: nothing after the first takedown, and one action of each type."""
    lis = acts["target_type"] == 0
    la, sa = take(acts, lis), take(acts, ~lis)
    order = np.lexsort((la["t"], la["target"]))
    la = take(la, order)
    first_td = np.full(la["target"].max() + 1 if len(la["target"]) else 0, np.inf)
    td = la["action"] == A_TAKEDOWN
    np.minimum.at(first_td, la["target"][td], la["t"][td])
    keep = la["t"] <= first_td[la["target"]]
    # one action per (listing, action type)
    key = la["target"] * 8 + la["action"]
    _, first = np.unique(key, return_index=True)
    uniq = np.zeros(len(key), bool)
    uniq[first] = True
    la = take(la, keep & uniq)
    return {k: np.concatenate([la[k], sa[k]]) for k in acts}


def repeat_offender(sd: SellerData, ld: ListingData, acts: dict, strategy: Strategy, days, seed):
    """Warning at the 2nd and suspension at the 3rd takedown within 30 days."""
    rng = rng_for(seed, "repeat")
    td = (acts["target_type"] == 0) & (acts["action"] == A_TAKEDOWN)
    seller = ld.seller[acts["target"][td]]
    t = acts["t"][td]
    order = np.lexsort((t, seller))
    seller, t = seller[order], t[order]
    out_h, out_a = empty(HIT_KEYS), empty(ACTION_KEYS)
    pol = C.POLICY_CODES.index("repeat_offender")
    for k, action in ((1, A_WARNING), (2, A_SUSPENSION)):
        if len(seller) <= k:
            continue
        same = seller[k:] == seller[:-k]
        within = (t[k:] - t[:-k]) <= 30.0
        pos = np.flatnonzero(same & within) + k
        s = seller[pos]
        _, first = np.unique(s, return_index=True)
        pos = pos[first]
        s = seller[pos]
        th = t[pos] + 0.01 + rng.random(len(pos)) * 0.05
        ok = (th < days) & (th < sd.removed_at[s]) & (th >= strategy.launched)
        s, th = s[ok], th[ok]
        ta = th + 0.002
        ok2 = ta < days
        out_h["strategy"].append(np.full(len(s), strategy.idx))
        out_h["target_type"].append(np.ones(len(s)))
        out_h["target"].append(s)
        out_h["t"].append(th)
        out_h["score"].append(np.full(len(s), np.nan))
        out_h["is_tp"].append(sd.is_bad[s])
        out_a["target_type"].append(np.ones(ok2.sum()))
        out_a["target"].append(s[ok2])
        out_a["action"].append(np.full(ok2.sum(), action))
        out_a["policy"].append(np.full(ok2.sum(), pol))
        out_a["strategy"].append(np.full(ok2.sum(), strategy.idx))
        out_a["t"].append(ta[ok2])
        out_a["is_fp"].append(~sd.is_bad[s[ok2]])
        out_a["source"].append(np.full(ok2.sum(), 4))
    return concat(out_h), concat(out_a)


def appeals(acts: dict, days: int, seed: int):
    """Sellers appeal some actions; false positives are appealed more and mostly overturned."""
    rng = rng_for(seed, "appeals")
    n = len(acts["t"])
    fp = acts["is_fp"]
    a = acts["action"]
    p = np.where(fp, 0.30, 0.15)
    p = np.where((a == A_LIMIT) & ~fp, 0.06, p)
    p = np.where(a == A_WARNING, np.where(fp, 0.2, 0.04), p)
    p = np.where((a == A_BAN) | (a == A_SUSPENSION), np.where(fp, 0.7, 0.25), p)
    sel = np.flatnonzero(rng.random(n) < p)
    filed = acts["t"][sel] + np.exp(rng.normal(np.log(1.2), 0.9, len(sel))).clip(0.02, 14.0)
    ok = filed < days
    sel, filed = sel[ok], filed[ok]
    resolved = filed + 1.0 + rng.random(len(sel)) * 9.0
    overturn = rng.random(len(sel)) < np.where(fp[sel], 0.70, 0.04)
    pending = resolved >= days
    resolved[pending] = np.nan
    outcome = np.where(pending, -1, np.where(overturn, 1, 0)).astype(np.int8)  # 0 upheld
    order = np.lexsort((sel, filed))
    return {
        "action": sel[order],
        "filed": filed[order],
        "resolved": resolved[order],
        "outcome": outcome[order],
    }
